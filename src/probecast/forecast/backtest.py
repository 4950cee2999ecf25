"""Interval widening by a backtest inside the fit data: the error of the law's form, not of its parameters.

Bootstrap intervals carry the fits' parameter uncertainty (which points happened to be sampled), not the error
of extrapolating with a law whose form is only approximately right, and that error grows with the distance of
the forecast beyond the data. So a forecaster refits itself (no bootstrap) on an earlier part of its own data
(a trajectory on its first checkpoints, COD on its smaller models), forecasts the part it left out, and keeps
each error with its horizon: the log distance of that target beyond that fit's data.

The error is taken to grow in proportion to the horizon (e = s h with one spread s per log unit of x), so each
backtest estimates s by e_i / h_i, and at a query with horizon h the sd of the extrapolation error is
h RMS(e_i / h_i): zero inside the data, where the bootstrap and residual spread already speak. The interval grows in quadrature by a Student-t quantile of that sd with one degree of freedom per
backtest error: a few errors estimate a spread poorly, and a normal quantile on a single error covers like the
ratio of two normals (a Cauchy variable), about 66 % at a nominal 90 %.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from probecast.errors import ProbecastError
from probecast.uncertainty import grow_in_quadrature


@dataclass
class Backtest:
    """Errors (forecast - actual) of backtest fits, with the horizon of each target beyond its fit's data."""

    horizons: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    dof: int | None = None  # degrees of freedom of the t quantile; default one per error (independent errors)

    def add(self, horizon: float, error: float) -> None:
        if np.isfinite(error) and np.isfinite(horizon) and horizon > 0:
            self.horizons.append(float(horizon))
            self.errors.append(float(error))

    def sd(self, horizon: float) -> float:
        """The extrapolation error's sd at a query `horizon` (log distance beyond the fit data); 0 without data."""
        if not self.errors:
            return 0.0
        per_log_unit = np.asarray(self.errors) / np.asarray(self.horizons)
        return float(max(horizon, 0.0) * np.sqrt(np.mean(per_log_unit ** 2)))

    def half_width(self, horizon: float, level: float) -> float:
        if not self.errors:
            return 0.0
        dof = self.dof or len(self.errors)
        return float(stats.t.ppf(0.5 + level / 2, max(dof, 1)) * self.sd(horizon))

    def widen(self, point: float, lo: float, hi: float, horizon: float, level: float,
              bounds: tuple[float, float] | None = None) -> tuple[float, float]:
        """(lo, hi) grown in quadrature by the extrapolation half-width; the point forecast is untouched."""
        half = self.half_width(horizon, level) if horizon > 0 else 0.0
        return grow_in_quadrature(point, lo, hi, half, bounds)

    def to_dict(self) -> dict:
        return {"horizons": self.horizons, "errors": self.errors}


class SeriesBacktest:
    """Mixin for forecasters fitted on a model series (COD, its end-to-end baseline): a backtest that leaves
    out the largest models. For k = 1 .. `max_left_out` (keeping at least `min_models`), the same forecaster
    (no bootstrap) is refitted on the series without its k largest models and forecasts the largest one;
    the horizon is the log compute from the refit's largest model to it. Subclasses give `fit_matrix`,
    `_point(fitted, flops)` (a fitted copy's point forecast) and the fields `n_boot` and `calibrate`.
    """

    max_left_out = 3
    min_models = 3

    def _fit_backtests(self, m: Any) -> None:
        self.backtest_fits_: list[tuple[Any, float]] = []
        for k in range(1, self.max_left_out + 1):
            if not getattr(self, "calibrate", True) or len(m.models) - k < self.min_models:
                break
            clone = dataclasses.replace(self, n_boot=0, calibrate=False)
            try:
                clone.fit_matrix(m.smallest(len(m.models) - k))
            except ProbecastError:  # e.g. no predictable cluster on fewer models: no error to measure
                continue
            self.backtest_fits_.append((clone, float(np.log(m.compute[-1] / m.compute[-k - 1]))))

    def backtest(self) -> Backtest:
        """The backtest errors of the current configuration (for COD: with or without the mapping)."""
        bt = Backtest()
        actual = float(self.matrix_.task_score()[-1])
        for clone, horizon in self.backtest_fits_:
            bt.add(horizon, self._point(clone, float(self.matrix_.compute[-1])) - actual)
        return bt

    def _widen(self, point: float, lo: float, hi: float, flops: float) -> tuple[float, float]:
        horizon = float(np.log(flops / self.matrix_.compute[-1]))
        return self.backtest().widen(point, lo, hi, horizon, self.level, bounds=(0.0, 1.0))
