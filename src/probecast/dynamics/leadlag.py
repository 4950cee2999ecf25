"""Cross-domain promotion: does improvement in one domain come before improvement in another?

Statistic: the *half-progress point* t50 of a domain on a run is the log10 of the training tokens at which
the domain score (mean of its tasks) has covered half of its gain from the first to the last checkpoint. The
curve is first made non-decreasing by isotonic regression on log tokens, so checkpoint noise cannot create
several crossings. For domains A and B,

    lag(A -> B) = mean over runs of t50(B) - t50(A)     (decades of tokens; > 0: A improves first)

A domain whose smoothed gain on a run is below `min_gain` has no t50 there (its score barely moved, e.g. MMLU
at chance), and that run is left out of its pairs. Uncertainty: a bootstrap that resamples runs (when there
are two or more) and, inside every domain, its tasks; the table gives the 90% interval and the share of
replicates with lag > 0. The statistic is descriptive; it says nothing causal.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from probecast.dynamics.scores import ScoreMatrix
from probecast.ui import track


@dataclass
class LeadLagConfig:
    min_gain: float = 0.02
    n_boot: int = 500
    level: float = 0.9
    seed: int = 0


def half_progress(log_tokens: np.ndarray, score: np.ndarray, min_gain: float) -> float:
    """log10 tokens where the isotonic curve first reaches half its gain (NaN when the gain is too small)."""
    order = np.argsort(log_tokens)
    x, y = log_tokens[order], score[order]
    fit = isotonic_regression(y).x
    gain = fit[-1] - fit[0]
    if gain < min_gain:
        return np.nan
    half = fit[0] + gain / 2
    i = int(np.argmax(fit >= half))
    if i == 0:
        return float(x[0])
    # linear interpolation between the last point below and the first point at/above half
    x0, x1, y0, y1 = x[i - 1], x[i], fit[i - 1], fit[i]
    return float(x0 + (half - y0) / (y1 - y0) * (x1 - x0)) if y1 > y0 else float(x1)


def _t50_table(sm: ScoreMatrix, task_pick: dict[str, list[str]], runs: list[str], min_gain: float) -> pd.DataFrame:
    """t50 per (run, domain), domain score = mean of the picked tasks."""
    log_tokens = np.log10(sm.index["tokens"].to_numpy(float))
    S = sm.scores.to_numpy()
    col = {t: i for i, t in enumerate(sm.tasks)}
    domain_score = {d: S[:, [col[t] for t in tasks]].mean(axis=1) for d, tasks in task_pick.items()}
    out = {}
    for i, run in enumerate(runs):
        rows = sm.rows_of(run)
        out[i] = {d: half_progress(log_tokens[rows], y[rows], min_gain) for d, y in domain_score.items()}
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index = list(runs)  # rows: runs (a bootstrap replicate repeats some), columns: domains
    return table


def _lags(t50: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(a, b): float(np.nanmean(t50[b] - t50[a])) if (t50[b] - t50[a]).notna().any() else np.nan
            for a, b in permutations(t50.columns, 2)}


def lead_lag(sm: ScoreMatrix, config: LeadLagConfig | None = None, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairwise lag table, t50 per run and domain)."""
    cfg = config or LeadLagConfig()
    domains = sm.domain_tasks()
    runs = sm.runs
    t50 = _t50_table(sm, domains, runs, cfg.min_gain)
    point = _lags(t50)
    rng = np.random.default_rng(cfg.seed)
    draws: dict[tuple[str, str], list[float]] = {k: [] for k in point}
    for _ in track(range(cfg.n_boot), "lead/lag bootstrap", show=progress):
        pick_runs = list(rng.choice(runs, size=len(runs), replace=True)) if len(runs) > 1 else runs
        pick_tasks = {d: list(rng.choice(tasks, size=len(tasks), replace=True)) for d, tasks in domains.items()}
        for k, v in _lags(_t50_table(sm, pick_tasks, pick_runs, cfg.min_gain)).items():
            draws[k].append(v)
    a = (1 - cfg.level) / 2 * 100
    rows = []
    for (da, db), lag in point.items():
        d = np.asarray(draws[(da, db)], float)
        d = d[np.isfinite(d)]
        n_runs = int((t50[da].notna() & t50[db].notna()).sum())
        lo, hi = (np.percentile(d, [a, 100 - a]) if len(d) >= 10 else (np.nan, np.nan))
        rows.append({"leader": da, "follower": db, "lag_decades": lag, "ci_low": float(lo), "ci_high": float(hi),
                     "p_leader_first": float((d > 0).mean()) if len(d) else np.nan, "runs": n_runs})
    table = pd.DataFrame(rows, columns=["leader", "follower", "lag_decades", "ci_low", "ci_high", "p_leader_first",
                                        "runs"])  # no rows when there is a single domain
    # keep one direction per pair: the one with a non-negative lag (the other is its mirror image)
    lag, ordered = table["lag_decades"], table["leader"] < table["follower"]
    table = table[(lag > 0) | ((lag == 0) | lag.isna()) & ordered]
    table = table.sort_values("lag_decades", ascending=False, na_position="last")
    return table.reset_index(drop=True), t50


def plot_progress(sm: ScoreMatrix, t50: pd.DataFrame, path, title: str):
    """Median (over runs) normalised progress curve of every domain vs tokens, with its t50 marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from probecast.io import save_figure

    fig, ax = plt.subplots(figsize=(8, 5))
    log_tokens = np.log10(sm.index["tokens"].to_numpy(float))
    for i, (domain, tasks) in enumerate(sm.domain_tasks().items()):
        curves = []
        for run in sm.runs:
            rows = sm.rows_of(run)
            order = rows[np.argsort(log_tokens[rows])]
            fit = isotonic_regression(sm.scores[tasks].to_numpy()[order].mean(axis=1)).x
            gain = fit[-1] - fit[0]
            if gain > 0:
                curves.append(pd.Series((fit - fit[0]) / gain, index=log_tokens[order]))
        if not curves:
            continue
        med = pd.concat(curves, axis=1).median(axis=1).sort_index()
        color = plt.get_cmap("tab10")(i % 10)
        ax.plot(10 ** med.index, med.to_numpy(), color=color, label=domain)
        if t50[domain].notna().any():
            ax.axvline(10 ** np.nanmedian(t50[domain]), color=color, ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training tokens")
    ax.set_ylabel("share of the run's gain (isotonic, median over runs)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
