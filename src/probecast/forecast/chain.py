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

from probecast.forecast.fitting import FitResult, interval, numerical_gradient
from probecast.uncertainty import grow_in_quadrature

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
    """Mixin for cross-run forecasters: widen intervals by a measured extrapolation error.

    The bootstrap carries the fits' parameter uncertainty but not the error of the law's form. So after the fit,
    the same forecaster (no bootstrap) is refitted without the largest model size of the table and forecasts
    the final checkpoints of that size's runs; the RMS error, scaled by how far the target's N lies beyond the
    largest size (in log N, relative to the backtest's step), is added in quadrature to the interval.
    """

    def _finish_fit(self, w, table):
        """The common end of a cross-run `fit`: keep the wide data (plots), mark fitted, run the backtest."""
        self.fit_data_ = w
        self.fitted_ = True
        self._size_backtest(table)
        return self

    def _size_backtest(self, table) -> None:
        import dataclasses

        from probecast.errors import ProbecastError
        from probecast.forecast.base import Query
        from probecast.forecast.table import final_rows, wide

        self.backtest_error_, self.sizes_ = 0.0, sorted(table["params"].dropna().unique())
        if not getattr(self, "calibrate", True) or len(self.sizes_) < 3:
            return
        largest = self.sizes_[-1]
        clone = dataclasses.replace(self, n_boot=0, calibrate=False)
        try:
            clone.fit(table[table["params"] < largest])
        except ProbecastError:
            return
        finals = final_rows(wide(table[table["params"] == largest], [self.score_metric_]))
        errors = [clone.predict(Query(params=r.params, tokens=r.tokens, flops=r.flops)).predicted - r[self.score_metric_]
                  for _, r in finals.iterrows()]
        self.backtest_error_ = float(np.sqrt(np.mean(np.square(errors)))) if errors else 0.0

    def _widen(self, point: float, lo: float, hi: float, query) -> tuple[float, float]:
        if not self.backtest_error_:
            return lo, hi
        step = np.log(self.sizes_[-1] / self.sizes_[-2])
        beyond = np.log(float(query.params) / self.sizes_[-1]) if query.params is not None else 0.0
        ratio = max(1.0, beyond / step)
        half = interval(0.0, None, self.level, self.backtest_error_ * ratio)[1]
        return grow_in_quadrature(point, lo, hi, half)
