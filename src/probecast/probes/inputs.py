"""Turning a `FeatureSet` into probe inputs: pooled hidden blocks, standardisation, question groups.

Shared by every probe so that "last"/"mean"/"both" pooling, the progress feature and the shape checks mean
the same thing everywhere.
"""

from __future__ import annotations

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import DERIVED, POOLED as POOLINGS, POOLING_BLOCKS

WHAT = {"answer": "the answer's states", "others": "the other choices' states"}


def hidden_block(X: FeatureSet, pooling: str = "last", layers: list[int] | None = None) -> np.ndarray:
    """[n, L', D'] float32: the chosen layers of the pooled hidden states (`POOLING_BLOCKS`: "both" concatenates
    last and mean, "last_answer" last and the reference answer's mean, "contrast" is the answer's mean minus the
    other choices')."""
    if pooling not in POOLINGS:
        raise ProbecastError(f"probe config: pooling must be one of {POOLINGS}, got {pooling!r}")
    if X.hidden_last is None or np.ndim(X.hidden_last) != 3:
        raise ProbecastError("features: hidden_last must be an [n, layers, dim] array")
    for block in POOLING_BLOCKS[pooling]:
        for needed in _sources(X, block):
            if getattr(X, f"hidden_{needed}") is None:
                how = ("re-extract them with mean pooling" if needed == "mean" else
                       f"extracted before probecast kept {WHAT[needed]} (or with {needed}_pool off), they lack "
                       f"it: run `probecast extract --force` on the workspace")
                raise ProbecastError(f"features: pooling {pooling!r} needs hidden_{needed}, which these features do "
                                     f"not have; use pooling='last', or {how}")
    if layers is None and X.layer_ids is not None:
        raise ProbecastError(f"features: the probe reads every layer but these features keep only layers "
                             f"{list(X.layer_ids)}; extract them with the probe's reads (or all layers)")
    if layers is not None and X.layer_ids is None and max(layers, default=-1) >= X.n_layers:
        raise ProbecastError(f"features: probe uses layer {max(layers)} but the features have {X.n_layers} layers; "
                             f"extract features with the same model and layer settings as the training ones")
    try:
        idx = slice(None) if layers is None else X.layer_positions(layers)
    except KeyError:
        raise ProbecastError(f"features: probe uses layers {list(layers)} but these features keep only "
                             f"{list(X.layer_ids)}; extract them with the probe's reads") from None
    parts = [_pooled(X, block, idx) for block in POOLING_BLOCKS[pooling]]
    out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
    return np.asarray(out, dtype=np.float32)


def _sources(X: FeatureSet, block: str) -> tuple[str, ...]:
    """The stored blocks a pooled block is made of (`contrast`/`choice` without other choices: the answer alone)."""
    sources = DERIVED.get(block, (block,))
    if "others" in sources and X.hidden_others is None and not X.is_multiple_choice:
        return tuple(s for s in sources if s != "others")
    return sources


def _pooled(X: FeatureSet, block: str, idx) -> np.ndarray:
    if block not in DERIVED:
        return getattr(X, f"hidden_{block}")[:, idx]
    answer = np.asarray(X.hidden_answer[:, idx], dtype=np.float32)
    diff = answer if X.hidden_others is None else answer - np.asarray(X.hidden_others[:, idx], dtype=np.float32)
    if block == "contrast":
        return diff
    return np.where(X.multiple_choice_rows()[:, None, None], diff, np.float32(0))  # `choice`: multiple-choice rows only


def progress_column(X: FeatureSet, step_scale: float) -> np.ndarray:
    """[n] training progress log(1+step)/log(1+step_scale), with `step_scale` = the last training step.

    Recomputed from `step` with the scale fixed at fit time (not taken from `FeatureSet.progress`, whose scale
    depends on which checkpoints the workspace holds), so a row means the same at fit and predict time;
    checkpoints past the training ones get values > 1."""
    return (np.log1p(np.asarray(X.step, dtype=np.float64)) / np.log1p(max(step_scale, 1.0))).astype(np.float32)


def loglik_features(X: FeatureSet) -> np.ndarray:
    """[n, 3]: answer log-likelihood (sum), per token, and exp(sum) = the probability of the exact answer."""
    if X.answer_loglik is None or X.answer_loglik_mean is None:
        raise ProbecastError("features: answer_loglik / answer_loglik_mean are missing; extract features with "
                             "reference answers (probecast extract records them) to use this probe")
    ll = np.asarray(X.answer_loglik, dtype=np.float64)
    llm = np.asarray(X.answer_loglik_mean, dtype=np.float64)
    return np.stack([ll, llm, np.exp(np.clip(ll, -50, 0))], axis=1)


def question_keys(X: FeatureSet) -> np.ndarray:
    """[n] "task␟question_id" per row: one question of one task, the same across checkpoints."""
    return np.char.add(np.char.add(X.task.astype(str), "\x1f"), X.question_ids.astype(str))


def question_groups(X: FeatureSet) -> np.ndarray:
    """[n] group id per row = one question of one task, so its rows across checkpoints stay together."""
    _, groups = np.unique(question_keys(X), return_inverse=True)
    return groups


def last_labels(X: FeatureSet, y: np.ndarray) -> dict[str, float]:
    """{task␟question_id: pass@1 at the question's last checkpoint in X} (what carry_forward carries)."""
    import pandas as pd

    df = pd.DataFrame({"key": question_keys(X), "step": X.step, "y": y}).sort_values("step", kind="stable")
    last = df.groupby("key").tail(1)
    return {str(k): float(v) for k, v in zip(last["key"], last["y"].astype(float))}


def expect_shape(got: tuple, want: tuple | list, what: str) -> None:
    if tuple(got) != tuple(want):
        raise ProbecastError(f"features: {what} has shape {tuple(got)} per row but the probe was fitted on "
                             f"{tuple(want)}; extract features with the same model and settings as training")


class Standardizer:
    """Per-feature z-scoring fitted on training rows (any trailing shape); std floored to avoid blow-ups."""

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        self.mean, self.std = mean, std

    def fit(self, A: np.ndarray) -> "Standardizer":
        A = np.asarray(A, dtype=np.float64)
        self.mean = A.mean(axis=0).astype(np.float32)
        std = A.std(axis=0)
        self.std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
        return self

    def transform(self, A: np.ndarray) -> np.ndarray:
        expect_shape(np.shape(A)[1:], self.mean.shape, "input")
        return ((np.asarray(A, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}mean": self.mean, f"{prefix}std": self.std}

    @staticmethod
    def from_state(arrays: dict[str, np.ndarray], prefix: str) -> "Standardizer":
        return Standardizer(arrays[f"{prefix}mean"], arrays[f"{prefix}std"])


def group_folds(groups: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds over groups (each question's rows in one fold), shuffled with a fixed seed."""
    uniq = np.unique(groups)
    k = min(n_folds, len(uniq))
    if k < 2:
        raise ProbecastError(f"need at least 2 distinct questions to cross-validate, got {len(uniq)}")
    perm = np.random.default_rng(seed).permutation(uniq)
    fold_of = {g: i % k for i, g in enumerate(perm)}
    f = np.array([fold_of[g] for g in groups])
    return [(np.flatnonzero(f != i), np.flatnonzero(f == i)) for i in range(k)]


def task_folds(tasks: np.ndarray, y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold id per item, stratified by task × (y >= 0.5): within each task its failures, then its successes, in
    seeded random order, dealt round-robin with one counter, so every fold gets an even share of both."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(tasks), dtype=int)
    positive = np.asarray(y, dtype=float) >= 0.5
    for t in np.unique(tasks):
        idx = np.concatenate([rng.permutation(np.flatnonzero((tasks == t) & (positive == c))) for c in (False, True)])
        fold[idx] = np.arange(len(idx)) % n_folds
    return fold


def stratified_question_folds(groups: np.ndarray, tasks: np.ndarray, y: np.ndarray, n_folds: int,
                              seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds over questions (each question's rows in one fold) stratified by task × the question's mean
    label >= 0.5, so every fold holds an even share of each task's successes and failures. Unstratified
    question folds of a few hundred questions give a fold more of a task's successes by chance, and a model
    trained on the others ranks that fold's rows lower: the inner CV then scores a real signal below chance and
    picks the wrong layer (the bias the in-checkpoint protocol's outer folds avoid the same way)."""
    uniq, first, inv = np.unique(groups, return_index=True, return_inverse=True)
    if len(uniq) < 2:
        raise ProbecastError(f"need at least 2 distinct questions to cross-validate, got {len(uniq)}")
    y_q = np.bincount(inv, weights=np.asarray(y, dtype=float)) / np.bincount(inv)
    f = task_folds(np.asarray(tasks)[first], y_q, min(n_folds, len(uniq)), seed)[inv]
    return [(np.flatnonzero(f != i), np.flatnonzero(f == i)) for i in np.unique(f) if (f != i).any()]


def checkpoint_folds(groups: np.ndarray, checkpoints: np.ndarray, n_folds: int,
                     seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that are out of question *and* out of checkpoint: fold i validates checkpoint c_i on question
    fold i mod k and trains on the other checkpoints' other questions, so a score says how well a model
    transfers to a checkpoint it never saw. Falls back to question folds with a single checkpoint."""
    ckpts = np.unique(checkpoints)
    qfolds = group_folds(groups, n_folds, seed)
    if len(ckpts) < 2:
        return qfolds
    out = []
    for i, c in enumerate(ckpts):
        tr_q, va_q = qfolds[i % len(qfolds)]
        tr = tr_q[checkpoints[tr_q] != c]
        va = va_q[checkpoints[va_q] == c]
        if len(tr) and len(va):
            out.append((tr, va))
    return out or qfolds


def group_holdout(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx) with `fraction` of the groups held out (empty val when there are < 4 groups)."""
    uniq = np.unique(groups)
    n_val = int(round(fraction * len(uniq)))
    if len(uniq) < 4 or n_val < 1:
        return np.arange(len(groups)), np.zeros(0, dtype=int)
    val_groups = np.random.default_rng(seed).choice(uniq, size=n_val, replace=False)
    is_val = np.isin(groups, val_groups)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
