"""Audit the probe against truth during training: real generative labelling of a small random subset.

Every Mth evaluation, `audit_task` samples `questions` questions of a task (a new random subset each time,
seeded by the step so a rerun is reproducible), labels them by generation exactly as `probecast label` would
(same scorer, `samples` samples at temperature 1), and returns their actual pass@1 next to the probe's mean
prediction on the *same* questions, so the two numbers are comparable. `backend` chooses the engine
(`labels.backends`): `hf` samples with the model in memory; `vllm` starts an engine on the checkpoint folder
(so it needs one: `probecast watch`, not an in-training callback without a saved checkpoint) for the
evaluation's audits, and frees it afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.checkpoints.discover import Checkpoint
from probecast.errors import ProbecastError
from probecast.labels.backend import Backend, HFBackend
from probecast.labels.backends import check_backend, make_backend
from probecast.labels.label import LabelConfig, label_task
from probecast.tasks.schema import Task


@dataclass(frozen=True)
class AuditConfig:
    every: int = 0  # audit every Mth evaluation (1 = every one); 0 = never
    questions: int = 16
    samples: int = 4
    batch_size: int = 64
    seed: int = 0
    backend: str = "hf"

    def __post_init__(self) -> None:
        check_backend(self.backend, "--audit-backend")

    def due(self, index: int) -> bool:
        """Is the `index`-th evaluation (0-based) audited? The first one is, then every `every`th."""
        return self.every > 0 and index % self.every == 0


def open_audit_backend(cfg: AuditConfig, checkpoint: str, step: int, path: str | None) -> Backend | None:
    """The engine for this evaluation's audits when it is not the in-memory HF model (None for `hf`)."""
    if cfg.backend == "hf":
        return None
    if not path:
        raise ProbecastError(f"--audit-backend {cfg.backend}: {checkpoint} has no checkpoint folder to start an engine "
                             f"on; audit in-training models with the hf backend, or watch saved checkpoints")
    return make_backend(cfg.backend, Checkpoint(id=checkpoint, path=str(path), step=step), seed=cfg.seed + int(step))


def audit_task(model, tokenizer, task: Task, p_success: np.ndarray, checkpoint: str, step: int,
               cfg: AuditConfig, backend: Backend | None = None) -> tuple[dict, pd.DataFrame]:
    """({audit_pass1, audit_pred_pass1, audit_n, audit_latency_s}, the audit's label rows with `p_success`).
    `backend=None`: sample with `model` (HF); else with that engine (`open_audit_backend`)."""
    t0 = time.perf_counter()
    sub = task.subset(cfg.questions, seed=cfg.seed * 1_000_003 + int(step))
    label_cfg = LabelConfig(samples=cfg.samples, greedy=False, batch_size=cfg.batch_size, seed=cfg.seed)
    if backend is not None:
        df, _ = label_task(backend, sub, label_cfg, checkpoint, step)
    else:
        padding_side, pad_token = tokenizer.padding_side, tokenizer.pad_token
        tokenizer.padding_side = "left"  # batched generation needs left padding
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        try:
            hf = HFBackend(model, tokenizer, batch_size=cfg.batch_size, seed=cfg.seed + int(step))
            df, _ = label_task(hf, sub, label_cfg, checkpoint, step)
        finally:
            tokenizer.padding_side = padding_side
            if pad_token is None:
                tokenizer.pad_token = None
    by_id = dict(zip((q.id for q in task.questions), np.asarray(p_success, dtype=float)))
    df["p_success"] = [by_id[q] for q in df["question_id"]]
    result = {"audit_pass1": float(df["pass1"].mean()), "audit_pred_pass1": float(df["p_success"].mean()),
              "audit_n": int(len(df)), "audit_latency_s": time.perf_counter() - t0}
    return result, df
