"""FLP (Chen et al. 2024, "Scaling Laws for Predicting Downstream Performance in LLMs", arXiv 2410.08527):
compute -> pre-training loss -> task score.

Stage 1: validation loss as a power law of training compute, L(C) = (C / C_N)^(-alpha) (optionally + E),
         fitted on the final checkpoints of the small "sampling" runs.
Stage 2: task score from loss, fitted on checkpoints past the emergent phase (score above chance + 5 points):
         linear as in the paper, sigmoid as an option.
Intervals: paired bootstrap refits of both stages, widened by a leave-largest-size-out backtest (as the ladder).
Compute is the table's FLOPs column (6 N D where it is missing); the target's compute is --target-flops, or
6 N D of the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.base import Forecast, Forecaster, Query, register_forecaster
from probecast.forecast.chain import SizeBacktest, Stage, chain_forecast
from probecast.forecast.laws import LINEAR, POWER_COMPUTE, POWER_COMPUTE_E, SIGMOID_SCORE, Law, fit_law
from probecast.forecast.table import (chance_level, compute_of, final_rows, metric_names, resolve_metric,
                                      validate_long_table, wide)

PREFERRED_LOSSES = ("loss/c4_en", "loss/pile", "loss/dolma_common-crawl")
EMERGENCE_MARGIN = 0.05


def default_loss(table: pd.DataFrame) -> str:
    losses = metric_names(table, "loss")
    if not losses:
        raise ProbecastError("table has no loss/<set> metric; FLP needs validation losses (e.g. OLMo-ladder runs) "
                             "or name one with --loss-metric")
    return next((m for m in PREFERRED_LOSSES if m in losses), losses[0])


def emerged(w: pd.DataFrame, score: str, chance: float | None) -> pd.DataFrame:
    """Checkpoints past the emergent phase: score above chance + 5 points (FLP's stage-2 data)."""
    floor = (chance_level(score) if chance is None else chance) + EMERGENCE_MARGIN
    out = w[w[score] > floor]
    if len(out) < 3:
        raise ProbecastError(f"{score}: only {len(out)} checkpoint(s) score above chance + 5 points ({floor:.2f}); "
                             "the task has not emerged in the sampling runs")
    return out


@register_forecaster
@dataclass
class FLPForecaster(SizeBacktest, Forecaster):
    name: ClassVar[str] = "flp"
    task: str = "hellaswag"
    loss_metric: str | None = None  # default: loss/c4_en, loss/pile, ... whichever the table has
    irreducible: bool = False  # L(C) = E + A C^-alpha instead of the paper's pure power law
    stage2: str = "linear"  # or "sigmoid"
    stage1_points: str = "final"  # or "all" checkpoints
    chance: float | None = None  # default from the task name
    n_boot: int = 100
    level: float = 0.9
    fit_loss: str = "linear"
    seed: int = 0
    calibrate: bool = True  # widen intervals by a leave-largest-size-out backtest (chain.SizeBacktest)

    def _stage1_law(self) -> Law:
        return POWER_COMPUTE_E if self.irreducible else POWER_COMPUTE

    def _stage2_law(self) -> Law:
        if self.stage2 not in ("linear", "sigmoid"):
            raise ProbecastError(f"flp stage2={self.stage2!r}: expected linear or sigmoid")
        return LINEAR if self.stage2 == "linear" else SIGMOID_SCORE

    def fit(self, table: pd.DataFrame) -> "FLPForecaster":
        table = validate_long_table(table, f"{self.name} fit table")
        self.score_metric_ = resolve_metric(table, self.task, "acc")
        self.loss_metric_ = self.loss_metric or default_loss(table)
        w = wide(table, [self.score_metric_, self.loss_metric_])
        w = w.assign(compute=compute_of(w))
        s1 = final_rows(w) if self.stage1_points == "final" else w
        kw = dict(n_boot=self.n_boot, loss=self.fit_loss, f_scale=0.02, seed=self.seed)
        self.stage1_ = fit_law(self._stage1_law(), s1["compute"].to_numpy(), s1[self.loss_metric_].to_numpy(),
                               groups=s1["run"].to_numpy(), what=f"flp stage 1 ({self.loss_metric_})", **kw)
        s2 = emerged(w, self.score_metric_, self.chance)
        self.stage2_ = fit_law(self._stage2_law(), s2[self.loss_metric_].to_numpy(), s2[self.score_metric_].to_numpy(),
                               groups=s2["run"].to_numpy(), what=f"flp stage 2 ({self.score_metric_})", **kw)
        return self._finish_fit(w, table)

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        x = np.array([query.compute])
        point, (lo, hi), z = chain_forecast([Stage(self._stage1_law().fn, self.stage1_)], x,
                                            Stage(self._stage2_law().fn, self.stage2_), self.level)
        lo, hi = self._widen(point, lo, hi, query)
        return Forecast(point, (lo, hi), {"intermediate": {self.loss_metric_: z[0]}, "compute": float(x[0]),
                                            **self._reach_extras(query)})

    def fitted_params(self) -> dict:
        self.check_fitted()
        return {"stage1": {**self.stage1_.as_dict(), "rmse": self.stage1_.rmse, "formula": self._stage1_law().formula},
                "stage2": {**self.stage2_.as_dict(), "rmse": self.stage2_.rmse, "formula": self._stage2_law().formula}}
