"""`forecast auto`: per task, an ensemble of the cross-run forecasters weighted by their far-extrapolation
backtests inside the fit data, with an interval as wide as those backtests say.

For each candidate method (ladder, FLP with a linear and a sigmoid stage 2 by default) the same configuration is
refitted on the runs up to each model size and forecasts every larger run (`reach.size_backtest_rows`); its
errors per log unit of horizon give a spread s_m. The forecast is the inverse-variance weighted mean of the
methods fitted on the whole table (weights 1/s_m^2, normalised): a method that extrapolates badly on *this
task* inside the data gets little say at the target. Nothing about the target is used to choose.

The interval: the weighted mean of the members' bootstrap intervals, grown in quadrature by the ensemble's own
backtest error at the query's horizon (`backtest.Backtest`: error sd proportional to the horizon, t quantile
with one degree of freedom per (cut, target size)). Where the backtests miss widely (sd above
`chain.UNFORECASTABLE_SD` at the target), `forecastable` is False and `forecast compare` flags the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.backtest import Backtest
from probecast.forecast.base import Forecast, Forecaster, Query, get_forecaster, register_forecaster
from probecast.forecast.chain import UNFORECASTABLE_SD
from probecast.forecast.choices import AUTO_METHODS, CANDIDATES
from probecast.forecast.reach import horizon, size_backtest_rows
from probecast.forecast.table import final_rows, validate_long_table, wide


@register_forecaster
@dataclass
class AutoForecaster(Forecaster):
    name: ClassVar[str] = "auto"
    task: str = "hellaswag"
    methods: tuple[str, ...] = AUTO_METHODS
    n_boot: int = 100
    level: float = 0.9
    seed: int = 0
    calibrate: bool = True  # widen by the ensemble's backtest error (False: members' bootstrap only)

    def fit(self, table: pd.DataFrame) -> "AutoForecaster":
        table = validate_long_table(table, "auto fit table")
        unknown = [m for m in self.methods if m not in CANDIDATES]
        if unknown:
            raise ProbecastError(f"auto --method {', '.join(unknown)}: unknown; choose from {', '.join(CANDIDATES)}")
        self.members_: dict[str, Forecaster] = {}
        self.rows_: dict[str, pd.DataFrame] = {}
        self.notes_: dict[str, str] = {}
        for label in self.methods:
            method, config = CANDIDATES[label]
            f = get_forecaster(method, task=self.task, n_boot=self.n_boot, level=self.level, seed=self.seed,
                               calibrate=False, **config)
            try:
                f.fit(table)
                rows = pd.DataFrame(size_backtest_rows(f, table))
            except ProbecastError as exc:
                self.notes_[label] = str(exc)
                continue
            if rows.empty:
                self.notes_[label] = "no backtest could be fitted"
                continue
            self.members_[label], self.rows_[label] = f, rows
        if not self.members_:
            raise ProbecastError(f"auto: no method could be fitted and backtested on {self.task}: "
                                 + "; ".join(f"{k}: {v}" for k, v in self.notes_.items()))
        self.spread_ = {k: float(np.sqrt(np.mean((r["error"] / r["horizon"]) ** 2))) for k, r in self.rows_.items()}
        inv = {k: 1.0 / max(s, 1e-4) ** 2 for k, s in self.spread_.items()}
        self.weights_ = {k: v / sum(inv.values()) for k, v in inv.items()}
        self.backtest_ = self._ensemble_backtest()
        first = next(iter(self.members_.values()))
        self.score_metric_ = first.score_metric_
        self.fit_finals_ = final_rows(wide(table, [self.score_metric_]))
        self.fitted_ = True
        return self

    def _ensemble_backtest(self) -> Backtest:
        """The weighted ensemble's errors on the backtest targets every member forecast."""
        keyed = [r.set_index(["direction", "fit_max", "run"]) for r in self.rows_.values()]
        common = keyed[0].index
        for r in keyed[1:]:
            common = common.intersection(r.index)
        bt = Backtest(dof=len({(d, fm, keyed[0].loc[(d, fm, run), "params"]) for d, fm, run in common}) or None)
        for key in common:
            error = sum(self.weights_[k] * r.loc[key, "error"] for k, r in zip(self.rows_, keyed))
            bt.add(float(keyed[0].loc[key, "horizon"]), float(error))
        return bt

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        fcs = {k: f.predict(query) for k, f in self.members_.items()}
        point = sum(self.weights_[k] * fc.predicted for k, fc in fcs.items())
        lo = sum(self.weights_[k] * fc.interval[0] for k, fc in fcs.items())
        hi = sum(self.weights_[k] * fc.interval[1] for k, fc in fcs.items())
        h = horizon(query.params, query.compute, self.fit_finals_, query.tokens)
        if self.calibrate:
            lo, hi = self.backtest_.widen(point, lo, hi, h, self.level, bounds=(0.0, 1.0))
        sd = self.backtest_.sd(h)
        return Forecast(float(point), (float(lo), float(hi)), {
            "members": {k: {"predicted": fc.predicted, "interval": list(fc.interval), "weight": self.weights_[k],
                            "backtest_spread_per_log_unit": self.spread_[k]} for k, fc in fcs.items()},
            "not_fitted": dict(self.notes_), "horizon": h, "extrapolation_sd": sd,
            "backtests": len(self.backtest_.errors), "forecastable": bool(sd <= UNFORECASTABLE_SD)})

    def fitted_params(self) -> dict:
        self.check_fitted()
        return {k: {"weight": self.weights_[k], **f.fitted_params()} for k, f in self.members_.items()}

    @property
    def primary_(self) -> Forecaster:
        """The member with the largest weight (plots)."""
        return self.members_[max(self.weights_, key=self.weights_.get)]
