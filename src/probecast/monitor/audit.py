"""Audit the probe against truth during training: real generative labels on a small random subset.

Every Mth evaluation, `audit_task` labels uniformly random questions of each task (a new random order each
time, seeded by the step so a rerun is reproducible) exactly as `probecast label` would, and returns the
prediction-powered task score (`evaluation/ppi.py`) with its interval next to the audit's raw numbers: the
actual pass@1 of the audited questions and the probe's mean prediction on the *same* questions. The audit
size is fixed (`questions`) or set by a target half-width of the PPI interval (`half_width`). `backend` chooses the engine
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
from probecast.evaluation.ppi import DEFAULT_LEVEL, AuditBudget
from probecast.labels import audit as labels_audit
from probecast.labels.backend import Backend
from probecast.labels.backends import check_backend, make_backend
from probecast.tasks.schema import Task


@dataclass(frozen=True)
class AuditConfig:
    every: int = 0  # audit every Mth evaluation (1 = every one); 0 = never
    questions: int = 16  # audit size (ignored when half_width is set)
    half_width: float | None = None  # label until the PPI interval's half-width is at most this
    samples: int = 4
    batch_size: int = 64
    seed: int = 0
    level: float = DEFAULT_LEVEL
    backend: str = "hf"

    def __post_init__(self) -> None:
        check_backend(self.backend, "--audit-backend")

    def due(self, index: int) -> bool:
        """Is the `index`-th evaluation (0-based) audited? The first one is, then every `every`th."""
        return self.every > 0 and index % self.every == 0

    @property
    def budget(self) -> AuditBudget:
        return AuditBudget(half_width=self.half_width) if self.half_width else AuditBudget(questions=self.questions)


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
    """({audit_pass1, audit_pred_pass1, audit_n, audit_latency_s, ppi_*}, the audit's label rows).
    `backend=None`: sample with `model` (HF); else with that engine (`open_audit_backend`)."""
    t0 = time.perf_counter()
    settings = labels_audit.AuditSettings(samples=cfg.samples, batch_size=cfg.batch_size, seed=cfg.seed,
                                          level=cfg.level)
    est, df = labels_audit.audit_task(model, tokenizer, task, p_success, checkpoint, step, cfg.budget, settings,
                                      seed=cfg.seed * 1_000_003 + int(step), backend=backend)
    result = {"audit_pass1": float(df["pass1"].mean()), "audit_pred_pass1": float(df["p_success"].mean()),
              "audit_n": int(len(df)), "audit_latency_s": time.perf_counter() - t0, **est.record()}
    return result, df
