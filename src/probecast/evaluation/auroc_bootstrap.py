"""How far an `auroc_mean` can move with the held-out questions: a question bootstrap, paired across methods.

An AUROC mean is one number from one sample of held-out questions (and one draw of their sampled labels); on the
real run a task at pass@1 ≈ 0.1 with two or three positives per checkpoint moves a method's mean by 0.07 between
two draws of the same labels. This module puts an interval on each method's mean and on the difference between
two methods scored on the same rows: the percentile interval by default; BCa (bias-corrected and accelerated,
Efron 1987) on request, which undercovered in a simulation shaped like the real demo
(`benchmarks/auroc_interval_coverage.py`: 0.75-0.80 at 90 %, percentile 0.85-0.89): resamples that lose a rare
task's few positives shift the bootstrap distribution off the point without the sampling distribution being
shifted alike, so BCa corrects a bias that is not there. Each task's questions are resampled with replacement (a
question keeps its rows at every checkpoint, so the cluster is the question; Efron & Tibshirani 1993, §6, on the
resampling unit), the same resample for every method (paired), and every method is rescored on it exactly as the
summary aggregates: per checkpoint the AUROC against pass@1 >= 0.5, averaged over the task's checkpoints where
both classes occur, then over tasks; with `pooled_fallback` (the earlier-predicts-later protocol,
`evaluation.scoring`) a task none of whose checkpoints has both classes is scored pooled over them.

A task of n questions is resampled as n − 1 draws with replacement, not n: the plain bootstrap of a stratum
underestimates its variance by the factor (n − 1)/n (a mean's bootstrap variance is the plug-in σ̂²/n), a few
per cent of the width at 8-40 questions per task; n − 1 draws remove that bias for a mean (the with-replacement
bootstrap of McCarthy & Snowden 1985; Rao & Wu 1988's rescaling bootstrap at m = n − 1). In the simulation the
plain draw's 90 % percentile intervals covered 0.85-0.89, the n − 1 draw's 0.87-0.91 (`draw="n"` keeps the plain
one).

The AUROC of a resample is the weighted Mann–Whitney statistic on the counts w of the questions drawn,
(w·y)ᵀ C (w·(1 − y)) / (Σ w·y · Σ w·(1 − y)) with C[i, j] = 1[p_i > p_j] + ½·1[p_i = p_j], computed for all
resamples of a cell in one matrix product. With every count 1 it is `metrics.auroc` (the point, a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError


@dataclass(frozen=True)
class BootstrapConfig:
    boot: int = 1000  # resamples of the questions
    level: float = 0.9  # two-sided interval level
    seed: int = 0
    interval: str = "percentile"  # or "bca" (bias-corrected and accelerated): it undercovered (docstring)
    draw: str = "n-1"  # questions drawn per task: "n-1" (small-strata correction, docstring) or "n" (plain)

    def __post_init__(self):
        if self.boot < 10 or not 0 < self.level < 1:
            raise ProbecastError(f"AUROC bootstrap: boot must be >= 10 and level in (0, 1), got {self.boot}, "
                                 f"{self.level}; e.g. boot=1000, level=0.9")
        if self.interval not in ("bca", "percentile"):
            raise ProbecastError(f"AUROC bootstrap: interval must be 'bca' or 'percentile', got {self.interval!r}")
        if self.draw not in ("n-1", "n"):
            raise ProbecastError(f"AUROC bootstrap: draw must be 'n-1' or 'n', got {self.draw!r}")


def weighted_auroc(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUROC of (y binary, p) for every row of counts w (B × n); NaN where a resample has one class."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    C = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    pos, neg = w * y, w * (1.0 - y)
    den = pos.sum(1) * neg.sum(1)
    num = np.einsum("bi,bi->b", pos @ C, neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _task_auroc(cells: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray, pooled_fallback: bool) -> np.ndarray:
    """(B,) AUROC of one method on one task: mean over checkpoints with both classes, else pooled (or NaN)."""
    out = finite_mean(np.stack([weighted_auroc(y, p, w) for y, p in cells]))  # mean over checkpoints
    if pooled_fallback and np.isnan(out).any():
        miss = np.isnan(out)
        y = np.concatenate([c[0] for c in cells])
        p = np.concatenate([c[1] for c in cells])
        out[miss] = weighted_auroc(y, p, np.tile(w[miss], len(cells)))
    return out


def _cells(rows: pd.DataFrame) -> dict:
    """{task: (n_questions, {method: [[(y_bin, p) per checkpoint, questions in one order] per repeat]})}; one
    repeat unless the rows have a `repeat` column (repeated cross-validation: several predictions per question)."""
    need = {"method", "task", "checkpoint", "question_id", "pass1", "p"}
    if need - set(rows.columns):
        raise ProbecastError(f"AUROC bootstrap: rows lack columns {sorted(need - set(rows.columns))}")
    rows = rows if "repeat" in rows else rows.assign(repeat=0)
    out = {}
    for task, g in rows.groupby("task", sort=True):
        qids = sorted(set(g["question_id"].astype(str)))
        by_method = {}
        for m, gm in g.groupby("method", sort=False):
            by_method[m] = []
            for _, gr in gm.groupby("repeat", sort=True):
                cells = []
                for _, gc in gr.groupby("checkpoint", sort=True):
                    gc = gc.assign(q=gc["question_id"].astype(str)).drop_duplicates("q").set_index("q").reindex(qids)
                    if gc["p"].isna().any():
                        raise ProbecastError(f"AUROC bootstrap: method {m} lacks predictions for questions of {task}")
                    cells.append(((gc["pass1"].to_numpy(float) >= 0.5).astype(float), gc["p"].to_numpy(float)))
                by_method[m].append(cells)
        out[task] = (len(qids), by_method)
    return out


def _repeats_auroc(repeats: list, w: np.ndarray, pooled_fallback: bool) -> np.ndarray:
    """(B,) a task's AUROC averaged over the repeats' predictions (the same labels, so the same NaN cells)."""
    return np.mean([_task_auroc(cells, w, pooled_fallback) for cells in repeats], axis=0)


def auroc_bootstrap(rows: pd.DataFrame, against: Sequence[str] = (), cfg: BootstrapConfig | None = None,
                    pooled_fallback: bool = True) -> dict:
    """{"level", "boot", "methods": {m: {auroc_mean, lo, hi}}, "against": {b: {m: {diff, lo, hi, p_above}}}}.

    `rows`: one row per (method, task, checkpoint, question) with pass1 and the prediction p. `against`:
    methods every other one is compared with on the same resamples (differences m − b)."""
    cfg = cfg or BootstrapConfig()
    tasks = _cells(rows)
    methods = list(dict.fromkeys(rows["method"]))
    unknown = [b for b in against if b not in methods]
    if unknown:
        raise ProbecastError(f"AUROC bootstrap: {unknown} not among the methods ({', '.join(methods)})")
    rng = np.random.default_rng(cfg.seed)
    point = {m: [] for m in methods}
    boot = {m: [] for m in methods}
    jack = {m: [] for m in methods}  # per task: the task's AUROC with each of its questions left out
    for n, by_method in tasks.values():
        draws = n - 1 if cfg.draw == "n-1" and n > 1 else n
        w = rng.multinomial(draws, np.full(n, 1.0 / n), size=cfg.boot).astype(float)  # same for every method
        for m in methods:
            reps = by_method.get(m)
            if reps is None:
                raise ProbecastError(f"AUROC bootstrap: method {m} has no rows on a task the others have")
            point[m].append(_repeats_auroc(reps, np.ones((1, n)), pooled_fallback)[0])
            boot[m].append(_repeats_auroc(reps, w, pooled_fallback))
            if cfg.interval == "bca":
                jack[m].append(_repeats_auroc(reps, 1.0 - np.eye(n), pooled_fallback))

    pts = {m: float(finite_mean(np.array(point[m])[:, None])[0]) for m in methods}  # mean over tasks
    dist = {m: finite_mean(boot[m]) for m in methods}
    jk = {m: _jackknife_means(point[m], jack[m]) for m in methods} if cfg.interval == "bca" else {}

    def interval(theta: float, d: np.ndarray, j: np.ndarray | None) -> tuple[float | None, float | None]:
        return _bca(theta, d, j, cfg.level) if j is not None else _percentile(d, cfg.level)

    out = {"level": cfg.level, "boot": cfg.boot, "unit": "question", "interval": cfg.interval, "methods": {},
           "against": {}}
    for m in methods:
        lo, hi = interval(pts[m], dist[m], jk.get(m))
        out["methods"][m] = {"auroc_mean": pts[m], "lo": lo, "hi": hi}
    for b in against:
        out["against"][b] = {}
        for m in methods:
            if m == b:
                continue
            d = dist[m] - dist[b]
            lo, hi = interval(pts[m] - pts[b], d, jk[m] - jk[b] if jk else None)
            fin = d[np.isfinite(d)]
            out["against"][b][m] = {"diff": pts[m] - pts[b], "lo": lo, "hi": hi,
                                    "p_above": float(np.mean(fin > 0)) if len(fin) else None}
    return out


def attach_intervals(blocks: dict[str, dict], b: dict) -> dict:
    """Write each method's [lo, hi] into its summary block as `auroc_ci`; return the summary's `auroc_paired`."""
    for name, block in blocks.items():
        block["auroc_ci"] = [b["methods"][name]["lo"], b["methods"][name]["hi"]]
    return {k: b[k] for k in ("level", "boot", "unit", "interval", "against")}


def finite_mean(vals) -> np.ndarray:
    """K × R -> R: the mean of each column over its finite entries (checkpoints or tasks without an AUROC
    skipped); NaN where a column has none."""
    a = np.array(vals, dtype=float)
    ok = np.isfinite(a)
    n_ok = ok.sum(0)
    return np.where(n_ok > 0, np.where(ok, a, 0.0).sum(0) / np.maximum(n_ok, 1), np.nan)


def _jackknife_means(point: list[float], jack: list[np.ndarray]) -> np.ndarray:
    """The mean over tasks with one question left out, for every question of every task (the others' tasks at
    their full-sample AUROC): the jackknife of the stratified statistic."""
    cols = []
    for t, jt in enumerate(jack):
        block = np.repeat(np.array(point, dtype=float)[:, None], len(jt), axis=1)
        block[t] = jt
        cols.append(finite_mean(block))
    return np.concatenate(cols) if cols else np.array([])


def _percentile(d: np.ndarray, level: float) -> tuple[float | None, float | None]:
    d = d[np.isfinite(d)]
    if not len(d):
        return None, None
    return float(np.quantile(d, (1 - level) / 2)), float(np.quantile(d, (1 + level) / 2))


def _bca(theta: float, d: np.ndarray, jack: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Efron's bias-corrected and accelerated interval (Efron 1987; Efron & Tibshirani 1993, §14.3): the
    percentile interval moved by z0 (where the point sits in the bootstrap distribution: a distribution shifted
    off the point, e.g. by resamples that lose a rare task's few positives, is recentred) and stretched by the
    acceleration a from the jackknife's skewness."""
    from scipy.stats import norm

    d = d[np.isfinite(d)]
    if not len(d) or not np.isfinite(theta):
        return None, None
    if np.ptp(d) == 0:
        return float(d[0]), float(d[0])
    share = (np.sum(d < theta) + 0.5 * np.sum(d == theta)) / len(d)
    z0 = norm.ppf(np.clip(share, 1 / (2 * len(d)), 1 - 1 / (2 * len(d))))
    j = jack[np.isfinite(jack)]
    u = j.mean() - j if len(j) else np.zeros(1)
    den = 6.0 * float((u ** 2).sum()) ** 1.5
    a = float((u ** 3).sum()) / den if den > 0 else 0.0
    z = norm.ppf([(1 - level) / 2, (1 + level) / 2])
    alpha = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    return float(np.quantile(d, alpha[0])), float(np.quantile(d, alpha[1]))
