"""Two-stage forecasts (FLP, FLP-M, model ladder): target -> intermediate loss(es) -> task score.

Stage 1 maps the target model (compute, or N and D) to one or more losses; stage 2 maps the losses to the
score. The point forecast chains the fitted laws; the interval chains the bootstrap refits of both stages
pairwise (refit b of stage 1 feeds refit b of stage 2) plus the stage-2 residual spread, so it carries the
uncertainty of both fits and the checkpoint-to-checkpoint noise of the score. Without bootstrap samples it
falls back to the delta method over all parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from probecast.forecast.backtest import Backtest
from probecast.forecast.fitting import FitResult, interval, numerical_gradient
from probecast.forecast.reach import horizon, size_backtest
from probecast.forecast.table import final_rows

Fn = Callable[[np.ndarray, Any], np.ndarray]


@dataclass
class Stage:
    fn: Fn
    result: FitResult


def _combine(zs: list[np.ndarray]) -> np.ndarray:
    """Stage-2 input: a 1-D array for one loss, an [n, K] matrix for several."""
    return zs[0] if len(zs) == 1 else np.stack(zs, axis=-1)


def chain_forecast(first: list[Stage], x: Any, second: Stage, level: float = 0.9,
                   clip: tuple[float, float] = (0.0, 1.0)) -> tuple[float, tuple[float, float], list[float]]:
    """(point, interval, stage-1 values) at one target `x` (compute array of length 1, or (N, D) arrays)."""
    z = [np.atleast_1d(s.fn(s.result.params, x)) for s in first]
    point = float(np.atleast_1d(second.fn(second.result.params, _combine(z)))[0])
    stages = [*first, second]
    if all(s.result.samples is not None and len(s.result.samples) >= 10 for s in stages):
        n = max(len(s.result.samples) for s in stages)
        rng = np.random.default_rng(0)
        draws = np.empty(n)
        for b in range(n):
            zb = [np.atleast_1d(s.fn(s.result.samples[b % len(s.result.samples)], x)) for s in first]
            theta2 = second.result.samples[b % len(second.result.samples)]
            draws[b] = float(np.atleast_1d(second.fn(theta2, _combine(zb)))[0])
        draws = draws + rng.normal(0, second.result.sigma, n)
        lo, hi = interval(point, draws, level)
    else:
        sizes = [len(s.result.params) for s in stages]
        cuts = np.cumsum([0, *sizes])

        def full(theta: np.ndarray) -> np.ndarray:
            parts = [theta[cuts[i]:cuts[i + 1]] for i in range(len(stages))]
            zs = [np.atleast_1d(s.fn(p, x)) for s, p in zip(first, parts)]
            return np.atleast_1d(second.fn(parts[-1], _combine(zs)))

        theta = np.concatenate([s.result.params for s in stages])
        grad = numerical_gradient(full, theta)[0]
        var = second.result.sigma ** 2
        for i, s in enumerate(stages):
            g = grad[cuts[i]:cuts[i + 1]]
            if s.result.cov is not None:
                var += float(g @ s.result.cov @ g)
        lo, hi = interval(point, None, level, float(np.sqrt(max(var, 0.0))))
    return (float(np.clip(point, *clip)), (float(np.clip(lo, *clip)), float(np.clip(hi, *clip))),
            [float(v[0]) for v in z])


class SizeBacktest:
    """Mixin for cross-run forecasters: widen intervals by a measured far-extrapolation error.

    The bootstrap carries the fits' parameter uncertainty but not the error of the law's form, which grows with
    the distance beyond the data. So after the fit, the same forecaster (no bootstrap) is refitted on the runs up
    to each model size and forecasts every larger run's final checkpoint (`reach.size_backtest`); each error is
    kept with its horizon (log distance beyond that fit's runs), and the interval at a query grows in quadrature
    by the error sd expected at the query's horizon (`backtest.Backtest`). `extras["forecastable"]` is False
    when that sd exceeds `UNFORECASTABLE_SD` (the backtests miss too widely to say much).
    """

    def _finish_fit(self, w, table):
        """The common end of a cross-run `fit`: keep the wide data (plots), mark fitted, run the backtest."""
        self.fit_data_ = w
        self.fitted_ = True
        self.backtest_ = Backtest()
        if getattr(self, "calibrate", True) and table["params"].nunique() >= 3:
            self.backtest_ = size_backtest(self, table)
        errors = self.backtest_.errors
        self.backtest_error_ = float(np.sqrt(np.mean(np.square(errors)))) if errors else 0.0
        return self

    def _horizon(self, query) -> float:
        known = query.flops is not None or (query.params is not None and query.tokens is not None)
        return horizon(query.params, query.compute if known else None, final_rows(self.fit_data_), query.tokens)

    def _widen(self, point: float, lo: float, hi: float, query) -> tuple[float, float]:
        h = self._horizon(query)
        return self.backtest_.widen(point, lo, hi, h, self.level, bounds=(0.0, 1.0))

    def _reach_extras(self, query) -> dict:
        """What the far backtest says at this query: its horizon, the expected error sd, forecastable or not."""
        h = self._horizon(query)
        sd = self.backtest_.sd(h)
        return {"backtest_error": self.backtest_error_, "horizon": h, "extrapolation_sd": sd,
                "backtests": len(self.backtest_.errors), "forecastable": bool(sd <= UNFORECASTABLE_SD)}


UNFORECASTABLE_SD = 0.05  # an expected extrapolation error sd above 5 points: the forecast says little
