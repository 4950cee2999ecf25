"""Audit a probe with real labels: label uniformly random questions of a task, then the PPI task score.

Shared by `probecast predict --audit` and the monitor's audits. The questions come in one random order
(a permutation seeded by the caller), so labelling the first n is a uniform random sample without replacement
whatever n the budget settles on (`evaluation/ppi.py:AuditBudget`). Labels are made exactly as
`probecast label` makes them (same scorer, `samples` samples at temperature 1), with the backend the caller
passes (`labels.backends`), by default the in-memory model.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.evaluation.ppi import DEFAULT_LEVEL, AuditBudget, PPIEstimate, label_until
from probecast.labels.backend import Backend
from probecast.labels.backends import make_backend
from probecast.labels.label import LabelConfig, label_task
from probecast.tasks.schema import Task


@dataclass(frozen=True)
class AuditSettings:
    samples: int = 4  # sampled completions per question (pass@1 = correct / samples)
    batch_size: int = 64
    seed: int = 0
    level: float = DEFAULT_LEVEL


def audit_backend(model, tokenizer, settings: AuditSettings, seed: int) -> Backend:
    """The audit's default engine: the in-memory model through the backend registry (`labels.backends`, the one
    place backends are chosen; an engine of its own, e.g. vLLM, is passed in as `backend=`)."""
    return make_backend("hf", None, model, tokenizer, batch_size=settings.batch_size, seed=seed)


@contextmanager
def left_padded(tokenizer):
    """Batched generation needs left padding and a pad token; restore the tokenizer afterwards."""
    padding_side, pad_token = tokenizer.padding_side, tokenizer.pad_token
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    try:
        yield tokenizer
    finally:
        tokenizer.padding_side = padding_side
        if pad_token is None:
            tokenizer.pad_token = None


def audit_order(n_questions: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_questions)


def audit_task(model, tokenizer, task: Task, p_success: np.ndarray, checkpoint: str, step: int | None,
               budget: AuditBudget, settings: AuditSettings, seed: int,
               backend: Backend | None = None) -> tuple[PPIEstimate, pd.DataFrame]:
    """Label random questions of `task` until `budget` is met; (PPI estimate, the label rows + p_success).
    `backend=None`: sample with `model` (HF); else with that engine (e.g. vLLM, `labels.backends`)."""
    p = np.asarray(p_success, dtype=float)
    frames: list[pd.DataFrame] = []
    label_cfg = LabelConfig(samples=settings.samples, greedy=False, batch_size=settings.batch_size,
                            seed=settings.seed)
    with left_padded(tokenizer) if backend is None else nullcontext():
        backend = backend or audit_backend(model, tokenizer, settings, seed)

        def label(indices: np.ndarray) -> np.ndarray:
            sub = Task(**{**task.__dict__, "questions": [task.questions[i] for i in indices]})
            df, _ = label_task(backend, sub, label_cfg, checkpoint, step)
            frames.append(df)
            by_id = df.set_index("question_id")["pass1"]
            return by_id.loc[[q.id for q in sub.questions]].to_numpy(float)

        est, idx, _ = label_until(budget, p, label, audit_order(len(p), seed), settings.level)
    rows = pd.concat(frames, ignore_index=True)
    by_id = dict(zip((q.id for q in task.questions), p))
    rows["p_success"] = [by_id[q] for q in rows["question_id"]]
    return est, rows
