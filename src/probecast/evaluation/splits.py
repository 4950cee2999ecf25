"""The split of the evaluation protocol: earlier checkpoints predict later ones, on questions the probe never saw.

The first `n_train_checkpoints` labelled checkpoints by step (or the named ones) are training checkpoints;
every checkpoint with a larger step is a test checkpoint. Independently, a fraction of each task's questions
is held out, drawn from the task's own seeded stream (`seed` and the task's name): adding, removing or resizing
one task leaves every other task's held-out questions as they were. Probes and baselines are fitted on train
questions × train checkpoints and scored on test questions × test checkpoints only; carry-forward alone reads *all* questions at the training checkpoints.

`SPLIT_SCHEME` names how held-out questions are drawn and is recorded with every evaluation
(summary.json `evaluation_settings.split_scheme`): before it, one stream was shared by all tasks in name order
("shared", summaries without the key), so the same seed and fraction hold out other questions now; `evaluate`
refuses to replace such a summary without `--force` instead of silently re-splitting.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet


SPLIT_SCHEME = "per-task"  # each task's held-out questions from its own stream (`task_rng`)
LEGACY_SPLIT_SCHEME = "shared"  # one stream for all tasks, in name order: summaries without the key
SPLIT_SCHEMES = {SPLIT_SCHEME: "each task's held-out questions from its own stream",
                 LEGACY_SPLIT_SCHEME: "one stream for all tasks"}


@dataclass
class SplitConfig:
    train_checkpoints: list[str] | None = None  # None: the first n_train_checkpoints by step
    n_train_checkpoints: int = 2
    test_fraction: float = 0.3  # of each task's questions
    seed: int = 0


@dataclass
class Split:
    train: np.ndarray  # bool [n]: train questions × train checkpoints
    history: np.ndarray  # bool [n]: all questions × train checkpoints (carry-forward only)
    test: np.ndarray  # bool [n]: test questions × test checkpoints
    train_checkpoints: list[str]
    test_checkpoints: list[str]
    n_train_questions: int
    n_test_questions: int


def task_rng(seed: int, task: str) -> np.random.Generator:
    """One task's own random stream: the same for a task whatever other tasks are evaluated beside it."""
    return np.random.default_rng([seed, zlib.crc32(task.encode())])


def make_split(X: FeatureSet, cfg: SplitConfig) -> Split:
    ck = (pd.DataFrame({"checkpoint": X.checkpoint.astype(str), "step": X.step}).drop_duplicates("checkpoint")
          .sort_values(["step", "checkpoint"]))
    if cfg.train_checkpoints:
        unknown = sorted(set(cfg.train_checkpoints) - set(ck["checkpoint"]))
        if unknown:
            raise ProbecastError(f"--train-checkpoints: {unknown} have no labelled features; "
                                 f"available: {list(ck['checkpoint'])}")
        train_ck = list(cfg.train_checkpoints)
    else:
        if cfg.n_train_checkpoints < 1:
            raise ProbecastError(f"--n-train {cfg.n_train_checkpoints}: train on at least one checkpoint")
        train_ck = list(ck["checkpoint"].iloc[:cfg.n_train_checkpoints])
    last = ck.loc[ck["checkpoint"].isin(train_ck), "step"].max()
    test_ck = list(ck.loc[ck["step"] > last, "checkpoint"])
    if not test_ck:
        how = "--train-checkpoints" if cfg.train_checkpoints else f"--n-train {cfg.n_train_checkpoints}"
        raise ProbecastError(f"{how}: no labelled checkpoint after the training ones {train_ck} (last step {last}); "
                             f"label later checkpoints or train on fewer ({len(ck) - 1} at most here)")
    test_q = set()
    for task in sorted(set(X.task.astype(str))):
        qs = np.array(sorted(set(X.question_ids[X.task == task].astype(str))))
        k = int(round(cfg.test_fraction * len(qs)))
        k = min(max(k, 1), len(qs) - 1) if len(qs) >= 2 else 0
        test_q.update((task, q) for q in task_rng(cfg.seed, task).choice(qs, size=k, replace=False))
    is_test_q = np.array([(t, q) in test_q for t, q in zip(X.task.astype(str), X.question_ids.astype(str))])
    in_train_ck = np.isin(X.checkpoint.astype(str), train_ck)
    in_test_ck = np.isin(X.checkpoint.astype(str), test_ck)
    n_all = len(set(zip(X.task.astype(str), X.question_ids.astype(str))))
    return Split(train=in_train_ck & ~is_test_q, history=in_train_ck, test=in_test_ck & is_test_q,
                 train_checkpoints=train_ck, test_checkpoints=test_ck,
                 n_train_questions=n_all - len(test_q), n_test_questions=len(test_q))
