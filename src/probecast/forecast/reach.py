"""Far-extrapolation backtests for cross-run forecasters: how wrong is a method as far beyond its data as the
target lies?

A ladder is used to forecast models 5-50x larger than any run in it; a backtest that leaves out only the
largest size measures a 1.7x step and says little about that. So the table is cut at every model size
(keeping at least `min_sizes` sizes): the method is refitted on the runs up to that size and forecasts the
final checkpoint of every larger run. Targets trained far longer than the ladder's runs (7B on 4T tokens) also
extrapolate in the budget, so the table is cut along the budget too (fit every size's runs up to each
tokens-per-parameter budget, forecast the longer runs). Each error is kept with its *horizon*, the log distance of the target
beyond the fit data:

    h = max(0, ln(N / N_max), 0.5 ln(C / C_max), 0.5 ln(B / B_max))

(N parameters, C training compute, B = D / N tokens per parameter; along a compute-optimal ladder C grows like N^2, so half its log ratio is
on the scale of the log-N ratio, and a target trained far longer than the ladder's runs counts as far even
at the same N). The errors feed `backtest.Backtest` (error sd growing in proportion to h), which sets the
interval width at a query's horizon and, in `forecast auto`, weighs the methods per task.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.backtest import Backtest
from probecast.forecast.base import Forecaster, Query
from probecast.forecast.table import compute_of, final_rows, wide


def horizon(params: float | None, flops: float | None, fit_table: pd.DataFrame,
            tokens: float | None = None) -> float:
    """Log distance of a target (params, compute, tokens) beyond the rows of a wide `fit_table` (0 inside)."""
    h = 0.0
    if params is not None and fit_table["params"].notna().any():
        h = max(h, float(np.log(float(params) / fit_table["params"].max())))
        if tokens is not None and fit_table["tokens"].notna().any():
            budget = (fit_table["tokens"] / fit_table["params"]).max()
            h = max(h, 0.5 * float(np.log(float(tokens) / float(params) / budget)))
    if flops is not None:
        h = max(h, 0.5 * float(np.log(float(flops) / np.max(compute_of(fit_table)))))
    return h


def _finals(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    return final_rows(wide(table, [metric]))


def _budgets(table: pd.DataFrame) -> pd.Series:
    """Each run's training budget in tokens per parameter (its last checkpoint), to 2 significant digits."""
    last = table.sort_values("step").groupby("run").last()
    return (last["tokens"] / last["params"]).dropna().map(lambda v: float(f"{v:.2g}"))


def _cuts(table: pd.DataFrame, min_sizes: int, min_budgets: int) -> list[tuple[str, float, list[str], list[str]]]:
    """(direction, cut, fit runs, target runs): by model size (fit up to each size, forecast the larger runs)
    and by budget (fit every size up to each tokens-per-parameter budget, forecast the longer runs)."""
    out = []
    per_run = table.groupby("run")["params"].first()
    sizes = sorted(per_run.dropna().unique())
    for k in range(min_sizes, len(sizes)):
        out.append(("size", float(sizes[k - 1]), list(per_run.index[per_run <= sizes[k - 1]]),
                    list(per_run.index[per_run > sizes[k - 1]])))
    budgets = _budgets(table).dropna()
    levels = sorted(budgets.unique())
    for k in range(min_budgets, len(levels)):
        out.append(("budget", float(levels[k - 1]), list(budgets.index[budgets <= levels[k - 1]]),
                    list(budgets.index[budgets > levels[k - 1]])))
    return out


def size_backtest_rows(forecaster: Forecaster, table: pd.DataFrame, min_sizes: int = 2,
                       min_budgets: int = 3) -> list[dict[str, Any]]:
    """Refit `forecaster` (no bootstrap, no widening) on the runs up to each model size, and on the runs up to
    each training budget, and forecast the final checkpoint of every run beyond the cut: one row per
    (direction, cut, target run) with horizon, actual and forecast. Cuts the method cannot fit are skipped."""
    rows = []
    for direction, cut, fit_runs, targets in _cuts(table, min_sizes, min_budgets):
        fit_part = table[table["run"].isin(fit_runs)]
        if fit_part["params"].nunique() < 2 or not targets:
            continue
        clone = dataclasses.replace(forecaster, n_boot=0, calibrate=False)
        try:
            clone.fit(fit_part)
        except ProbecastError:
            continue
        metric = clone.score_metric_
        fit_finals = final_rows(wide(fit_part, [metric]))
        for _, r in _finals(table[table["run"].isin(targets)], metric).iterrows():
            fc = clone.predict(Query(params=r.params, tokens=r.tokens, flops=r.flops))
            h = horizon(r.params, r.flops if pd.notna(r.flops) else r.params * r.tokens * 6, fit_finals, r.tokens)
            if h <= 0:  # inside the fit data: not an extrapolation
                continue
            rows.append(dict(direction=direction, fit_max=cut, run=r.run, params=float(r.params), horizon=h,
                             actual=float(r[metric]), predicted=float(fc.predicted),
                             error=float(fc.predicted - r[metric])))
    return rows


def _groups(rows: list[dict[str, Any]]) -> int:
    """Roughly independent backtest errors: one per (direction, cut, target size)."""
    return len({(r["direction"], r["fit_max"], r["params"]) for r in rows})


def size_backtest(forecaster: Forecaster, table: pd.DataFrame, min_sizes: int = 2) -> Backtest:
    """The errors of `size_backtest_rows` as a `Backtest`. Errors of the runs of one size forecast from one cut
    share most of their error (the same fitted laws), so the t quantile counts one degree of freedom per
    (cut, target size), not per run."""
    rows = size_backtest_rows(forecaster, table, min_sizes)
    bt = Backtest(dof=_groups(rows) or None)
    for r in rows:
        bt.add(r["horizon"], r["error"])
    return bt
