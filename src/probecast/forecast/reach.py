"""Far-extrapolation backtests for cross-run forecasters: how wrong is a method as far beyond its data as the
target lies?

A ladder is used to forecast models 5-50x larger than any run in it; a backtest that leaves out only the
largest size measures a 1.7x step and says little about that. So the table is cut at every model size
(keeping at least `min_sizes` sizes): the method is refitted on the runs up to that size and forecasts the
final checkpoint of every larger run. Each error is kept with its *horizon*, the log distance of the target
beyond the fit data:

    h = max(0, ln(N / N_max), 0.5 ln(C / C_max))

(N parameters, C training compute; along a compute-optimal ladder C grows like N^2, so half its log ratio is
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


def horizon(params: float | None, flops: float | None, fit_table: pd.DataFrame) -> float:
    """Log distance of a target (params, compute) beyond the rows of a wide `fit_table` (0 inside them)."""
    h = 0.0
    if params is not None and fit_table["params"].notna().any():
        h = max(h, float(np.log(float(params) / fit_table["params"].max())))
    if flops is not None:
        h = max(h, 0.5 * float(np.log(float(flops) / np.max(compute_of(fit_table)))))
    return h


def _finals(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    return final_rows(wide(table, [metric]))


def size_backtest_rows(forecaster: Forecaster, table: pd.DataFrame, min_sizes: int = 2) -> list[dict[str, Any]]:
    """Refit `forecaster` (no bootstrap, no widening) on the runs up to each model size and forecast the final
    checkpoint of every larger run: one row per (cut, target run) with horizon, actual and forecast."""
    sizes = sorted(table["params"].dropna().unique())
    metric = getattr(forecaster, "score_metric_", None)
    rows = []
    for k in range(min_sizes, len(sizes)):
        fit_part = table[table["params"] <= sizes[k - 1]]
        clone = dataclasses.replace(forecaster, n_boot=0, calibrate=False)
        try:
            clone.fit(fit_part)
        except ProbecastError:
            continue
        metric = clone.score_metric_
        fit_finals = final_rows(wide(fit_part, [metric]))
        for _, r in _finals(table[table["params"] > sizes[k - 1]], metric).iterrows():
            fc = clone.predict(Query(params=r.params, tokens=r.tokens, flops=r.flops))
            rows.append(dict(fit_max=float(sizes[k - 1]), run=r.run, params=float(r.params),
                             horizon=horizon(r.params, r.flops, fit_finals), actual=float(r[metric]),
                             predicted=float(fc.predicted), error=float(fc.predicted - r[metric])))
    return rows


def size_backtest(forecaster: Forecaster, table: pd.DataFrame, min_sizes: int = 2) -> Backtest:
    """The errors of `size_backtest_rows` as a `Backtest`. Errors of the runs of one size forecast from one cut
    share most of their error (the same fitted laws), so the t quantile counts one degree of freedom per
    (cut, target size), not per run."""
    rows = size_backtest_rows(forecaster, table, min_sizes)
    bt = Backtest(dof=len({(r["fit_max"], r["params"]) for r in rows}) or None)
    for r in rows:
        bt.add(r["horizon"], r["error"])
    return bt
