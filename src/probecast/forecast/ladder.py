"""Model ladder (Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient Model Ladders",
arXiv 2412.04403): predict a large model's task accuracy from a ladder of small runs in two steps.

Step 1: task loss (bits per byte of the correct answer) from parameters N and tokens D,
        L(N, D) = A / N^alpha + B / D^beta + E, fitted on the final checkpoint of each ladder run
        (a fully trained model for its (N, D); intermediate checkpoints of a decaying schedule are not).
        By default the two exponents are tied (alpha = beta, `step1="tied"`): with two or three sizes the
        five-parameter law trades E against the exponents and over-forecasts the loss of larger and longer
        runs; the tied law forecast 1B's bpb better from 190M-370M and from 190M-760M on every task
        (benchmarks/forecast_real_data.py, far-extrapolation backtest). `step1="free"` is the paper's law.
Step 2: accuracy from task loss, Acc(L) = floor + (ceil - floor) / (1 + exp(k (L - L0))), fitted on the
        checkpoints of the ladder runs past their first 10 % of steps (the loss -> accuracy map does not
        depend on how the loss was reached; the earliest checkpoints are noise around chance), with a robust
        loss and every parameter bounded by what it means (`laws.bounded_sigmoid_law`: floor near chance,
        ceiling <= 1, slope > 0). When the fit puts the sigmoid's inflection below the lowest loss seen (the
        data never reach it, so nothing bounds how fast the curve keeps rising), it is refitted with the
        inflection inside the data: the better-behaved form that decelerates from the data on. As the
        OLMo-ladder code does, a helper point (loss 0, accuracy 1) anchors the ceiling (in the far backtest it
        took the mean error from 3.3 to 2.3 points beyond 2.7x; `helper_point=False` drops it).
        `step2="free"` is the paper's unbounded a / (1 + exp(k (L - L0))) + b on all checkpoints.
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
from probecast.forecast.laws import LADDER_LOSS, LADDER_LOSS_TIED, SIGMOID_SCORE, bounded_sigmoid_law, fit_law
from probecast.forecast.table import chance_level, final_rows, resolve_metric, validate_long_table, wide


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
    step1: str = "tied"  # or "free" (the paper's five-parameter law)
    step2: str = "bounded"  # or "free" (the paper's unbounded sigmoid on all checkpoints)
    skip_fraction: float = 0.1  # bounded step 2: drop each run's first 10 % of checkpoints (as the OLMo code)
    helper_point: bool = True  # bounded step 2: add the point (loss 0, accuracy 1), as the OLMo code does

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
        if self.step1 not in ("tied", "free"):
            raise ProbecastError(f"ladder step1={self.step1!r}: expected tied or free")
        self.step1_law_ = LADDER_LOSS_TIED if self.step1 == "tied" else LADDER_LOSS
        self.step1_ = fit_law(self.step1_law_, (s1["params"].to_numpy(), s1["tokens"].to_numpy()),
                              s1[self.loss_metric_].to_numpy(), groups=s1["run"].to_numpy(),
                              what=f"ladder step 1 ({self.loss_metric_})", **kw)
        self.step2_law_ = SIGMOID_SCORE
        if self.step2 == "free":
            self.step2_ = fit_law(SIGMOID_SCORE, w[self.loss_metric_].to_numpy(), w[self.score_metric_].to_numpy(),
                                  groups=w["run"].to_numpy(), what=f"ladder step 2 ({self.score_metric_})", **kw)
        elif self.step2 == "bounded":
            self._fit_bounded_step2(w, kw)
        else:
            raise ProbecastError(f"ladder step2={self.step2!r}: expected bounded or free")
        return self._finish_fit(w, table)

    def _fit_bounded_step2(self, w: pd.DataFrame, kw: dict) -> None:
        rank = w.groupby("run")["step"].rank(pct=True)
        s2 = w[rank > self.skip_fraction] if (rank > self.skip_fraction).sum() >= 5 else w
        loss, acc, groups = (s2[self.loss_metric_].to_numpy(), s2[self.score_metric_].to_numpy(),
                             s2["run"].to_numpy())
        if self.helper_point:
            loss, acc, groups = np.append(loss, 0.0), np.append(acc, 1.0), np.append(groups, "helper")
        kw = {**kw, "loss": "soft_l1" if self.fit_loss == "linear" else self.fit_loss}
        what = f"ladder step 2 ({self.score_metric_})"
        chance = chance_level(self.score_metric_)
        law = bounded_sigmoid_law(chance)
        res = fit_law(law, loss, acc, groups=groups, what=what, **kw)
        self.step2_form_ = "sigmoid"
        if res.params[3] < float(s2[self.loss_metric_].min()):
            law = bounded_sigmoid_law(chance, inflection_in_data=True)
            res = fit_law(law, loss, acc, groups=groups, what=what, **kw)
            self.step2_form_ = "sigmoid, inflection in the data (fallback)"
        self.step2_, self.step2_law_ = res, law

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        if query.params is None or query.tokens is None:
            raise ProbecastError("ladder: the target needs --target-params and --target-tokens")
        x = (np.array([float(query.params)]), np.array([float(query.tokens)]))
        point, (lo, hi), z = chain_forecast([Stage(self.step1_law_.fn, self.step1_)], x,
                                            Stage(self.step2_law_.fn, self.step2_), self.level)
        lo, hi = self._widen(point, lo, hi, query)
        return Forecast(point, (lo, hi), {"intermediate": {self.loss_metric_: z[0]},
                                          **self._reach_extras(query)})

    def fitted_params(self) -> dict:
        self.check_fitted()
        return {"step1": {**self.step1_.as_dict(), "rmse": self.step1_.rmse, "formula": self.step1_law_.formula},
                "step2": {**self.step2_.as_dict(), "rmse": self.step2_.rmse, "formula": self.step2_law_.formula,
                          "form": getattr(self, "step2_form_", "free")}}
