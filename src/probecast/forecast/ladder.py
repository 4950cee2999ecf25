"""Model ladder (Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient Model Ladders",
arXiv 2412.04403): predict a large model's task accuracy from a ladder of small runs in two steps.

Step 1: task loss (bits per byte of the correct answer) from parameters N and tokens D,
        L(N, D) = A / N^alpha + B / D^beta + E, fitted on the final checkpoint of each ladder run
        (a fully trained model for its (N, D); intermediate checkpoints of a decaying schedule are not).
Step 2: accuracy from task loss, Acc(L) = a / (1 + exp(k (L - L0))) + b, fitted on all checkpoints of the
        ladder runs (the loss -> accuracy map does not depend on how the loss was reached).
The interval chains bootstrap refits of both steps (resampling whole runs) plus the step-2 residual spread,
widened by the error of a leave-largest-size-out backtest (`chain.SizeBacktest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.base import Forecast, Forecaster, Query, register_forecaster
from probecast.forecast.chain import SizeBacktest, Stage, chain_forecast
from probecast.forecast.laws import LADDER_LOSS, SIGMOID_SCORE, fit_law
from probecast.forecast.table import final_rows, resolve_metric, validate_long_table, wide


@register_forecaster
@dataclass
class LadderForecaster(SizeBacktest, Forecaster):
    name: ClassVar[str] = "ladder"
    task: str = "hellaswag"
    loss_metric: str | None = None  # default bpb/<task>
    step1_points: str = "final"  # "final" (one point per run, as in the paper) or "all" checkpoints
    n_boot: int = 100
    level: float = 0.9
    fit_loss: str = "linear"  # or a robust loss of scipy least_squares: soft_l1, huber, cauchy
    seed: int = 0
    calibrate: bool = True  # widen intervals by a leave-largest-size-out backtest (chain.SizeBacktest)

    def fit(self, table: pd.DataFrame) -> "LadderForecaster":
        table = validate_long_table(table, "ladder fit table")
        self.score_metric_ = resolve_metric(table, self.task, "acc")
        self.loss_metric_ = self.loss_metric or resolve_metric(table, self.task, "bpb")
        w = wide(table, [self.score_metric_, self.loss_metric_])
        if w["params"].isna().any() or w["tokens"].isna().any():
            bad = w.loc[w["params"].isna() | w["tokens"].isna(), "run"].iloc[0]
            raise ProbecastError(f"ladder: run {bad!r} has no params or tokens; give --params NAME=COUNT")
        if w["run"].nunique() < 2 or w["params"].nunique() < 2:
            raise ProbecastError("ladder: needs runs of at least two model sizes (a single point fits no law)")
        s1 = final_rows(w) if self.step1_points == "final" else w
        kw = dict(n_boot=self.n_boot, loss=self.fit_loss, f_scale=0.02, seed=self.seed)
        self.step1_ = fit_law(LADDER_LOSS, (s1["params"].to_numpy(), s1["tokens"].to_numpy()),
                              s1[self.loss_metric_].to_numpy(), groups=s1["run"].to_numpy(),
                              what=f"ladder step 1 ({self.loss_metric_})", **kw)
        self.step2_ = fit_law(SIGMOID_SCORE, w[self.loss_metric_].to_numpy(), w[self.score_metric_].to_numpy(),
                              groups=w["run"].to_numpy(), what=f"ladder step 2 ({self.score_metric_})", **kw)
        return self._finish_fit(w, table)

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        if query.params is None or query.tokens is None:
            raise ProbecastError("ladder: the target needs --target-params and --target-tokens")
        x = (np.array([float(query.params)]), np.array([float(query.tokens)]))
        point, (lo, hi), z = chain_forecast([Stage(LADDER_LOSS.fn, self.step1_)], x,
                                            Stage(SIGMOID_SCORE.fn, self.step2_), self.level)
        lo, hi = self._widen(point, lo, hi, query)
        return Forecast(point, (lo, hi), {"intermediate": {self.loss_metric_: z[0]},
                                          "backtest_error": self.backtest_error_})

    def fitted_params(self) -> dict:
        self.check_fitted()
        return {"step1": {**self.step1_.as_dict(), "rmse": self.step1_.rmse, "formula": LADDER_LOSS.formula},
                "step2": {**self.step2_.as_dict(), "rmse": self.step2_.rmse, "formula": SIGMOID_SCORE.formula}}
