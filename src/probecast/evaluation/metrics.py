"""Question-level and task-level metrics for predicted P(success).

- `auroc(y_bin, p)`: ranking quality; NaN when the labels have one class (undefined, not 0.5).
- `brier(y_soft, p)`: mean (p − pass@1)²; against a soft target this *is* the MSE, so it is reported once.
  `brier(y_sampled, p)` against one sampled attempt is the classical Brier score of a binary outcome.
- `ece(y_soft, p)`: expected calibration error with equal-width bins, |mean p − mean pass@1| weighted by bin
  size (Guo et al. 2017, against soft targets).
- `task_abs_err`: |mean predicted pass@1 − mean actual pass@1| of one task at one checkpoint.
- `spearman(pred_scores, true_scores)`: rank correlation of task scores across checkpoints; NaN with fewer
  than 3 checkpoints or a constant truth; 0 for a constant forecast (it orders nothing: a convention, since
  the coefficient itself is undefined there).
- `bootstrap_mean_ci`: percentile interval of a mean, resampling questions with replacement.
"""

from __future__ import annotations

import numpy as np


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=np.float64).reshape(-1), np.asarray(p, dtype=np.float64).reshape(-1)
    if len(y) != len(p):
        raise ValueError(f"metrics: {len(y)} labels vs {len(p)} predictions")
    return y, p


def auroc(y_bin: np.ndarray, p: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half); NaN if one class."""
    y, p = _check(y_bin, p)
    pos, neg = y > 0.5, y <= 0.5
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(p)  # average ranks handle ties
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2)) if len(y) else float("nan")


def ece(y_soft: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    y, p = _check(y_soft, p)
    if not len(y):
        return float("nan")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        m = bins == b
        total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(y))


def task_abs_err(y_soft: np.ndarray, p: np.ndarray) -> float:
    y, p = _check(y_soft, p)
    return float(abs(p.mean() - y.mean())) if len(y) else float("nan")


def spearman(pred_scores: np.ndarray, true_scores: np.ndarray) -> float:
    a, b = _check(pred_scores, true_scores)
    if len(a) < 3 or np.ptp(b) == 0:
        return float("nan")
    if np.ptp(a) == 0:
        return 0.0
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def bootstrap_mean_ci(values: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of mean(values) resampling rows (questions) with replacement."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(v) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def nanmean(values) -> float:
    """Mean ignoring NaN; NaN (not a warning) when nothing is defined."""
    v = np.asarray(list(values), dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def strata_auroc(scores: np.ndarray, y: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Mean AUROC (vs pass@1 >= 0.5) within each stratum, for every candidate: scores [n, ...] -> [...].
    NaN where no stratum has both classes."""
    from scipy.stats import rankdata

    total, count = np.zeros(scores.shape[1:]), 0
    for s in np.unique(strata):
        m = strata == s
        pos = y[m] >= 0.5
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(scores[m], axis=0)
        total += (ranks[pos].sum(0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        count += 1
    return total / count if count else np.full(scores.shape[1:], np.nan)
