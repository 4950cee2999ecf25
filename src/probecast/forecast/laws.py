"""The parametric laws the forecasters fit, each with starting values and bounds derived from the data.

A `Law` is `fn(theta, x)` plus `init(x, y) -> (p0, (lo, hi))`; `fit_law` hands both to the fitting core.
Inputs are rescaled inside the laws (compute by 1e18, N by 1e9, D by 1e11) so that parameters are O(1) and
the optimiser sees a well-conditioned problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.special import expit

from probecast.forecast.fitting import FitResult, bootstrap, fit_curve

Init = Callable[[Any, np.ndarray], tuple[list[float], tuple[list[float], list[float]]]]


@dataclass(frozen=True)
class Law:
    name: str
    names: tuple[str, ...]
    fn: Callable[[np.ndarray, Any], np.ndarray]
    init: Init
    formula: str

    def __call__(self, theta: np.ndarray, x: Any) -> np.ndarray:
        return self.fn(theta, x)


def fit_law(law: Law, x: Any, y: np.ndarray, *, n_boot: int = 0, groups: np.ndarray | None = None,
            loss: str = "linear", f_scale: float = 1.0, seed: int = 0, what: str = "", **kwargs: Any) -> FitResult:
    """Fit `law` with the shared core (multi-start, bounds) and optionally bootstrap it."""
    p0, bounds = law.init(x, np.asarray(y, float))
    res = fit_curve(law.fn, x, y, p0, law.names, bounds, loss=loss, f_scale=f_scale, seed=seed,
                    what=what or law.name, **kwargs)
    res.extras["law"] = law.name
    if n_boot:
        bootstrap(law.fn, x, y, res, n_boot=n_boot, groups=groups, seed=seed, bounds=bounds, loss=loss,
                  f_scale=f_scale, what=what or law.name)
    return res


# ---- loss from compute (FLP stage 1) -----------------------------------------------------------------------
def _power_compute(theta: np.ndarray, c: np.ndarray) -> np.ndarray:
    log_a, alpha = theta[0], theta[1]
    e = theta[2] if len(theta) > 2 else 0.0
    return e + np.exp(log_a - alpha * np.log(np.asarray(c, float) / 1e18))


def _init_power_compute(with_e: bool) -> Init:
    def init(c: Any, y: np.ndarray):
        p0 = [float(np.log(np.median(y))), 0.05]
        lo, hi = [-10.0, 0.0], [10.0, 2.0]
        if with_e:
            p0 = [float(np.log(max(np.median(y) - 0.8 * y.min(), 1e-3))), 0.3, 0.8 * float(y.min())]
            lo, hi = lo + [0.0], hi + [float(y.min())]
        return p0, (lo, hi)
    return init


POWER_COMPUTE = Law("power_compute", ("log_a", "alpha"), _power_compute, _init_power_compute(False),
                    "L(C) = (C / C_N)^(-alpha)")
POWER_COMPUTE_E = Law("power_compute_e", ("log_a", "alpha", "E"), _power_compute, _init_power_compute(True),
                      "L(C) = E + A (C / 1e18)^(-alpha)")


# ---- task loss from N and D (model ladder step 1) ----------------------------------------------------------
def _ladder_loss(theta: np.ndarray, nd: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    log_a, a, log_b, b, e = theta
    n, d = (np.asarray(v, float) for v in nd)
    return e + np.exp(log_a - a * np.log(n / 1e9)) + np.exp(log_b - b * np.log(d / 1e11))


def _init_ladder_loss(nd: Any, y: np.ndarray):
    spread = max(float(y.max() - y.min()), 1e-3)
    p0 = [float(np.log(spread / 2)), 0.3, float(np.log(spread / 2)), 0.3, max(float(y.min()) - spread, 0.0)]
    return p0, ([-10.0, 0.0, -10.0, 0.0, 0.0], [10.0, 2.0, 10.0, 2.0, float(y.min())])


LADDER_LOSS = Law("ladder_loss", ("log_A", "alpha", "log_B", "beta", "E"), _ladder_loss, _init_ladder_loss,
                  "L(N, D) = A / N^alpha + B / D^beta + E  (N in 1e9, D in 1e11)")


def _ladder_loss_tied(theta: np.ndarray, nd: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    log_a, a, log_b, e = theta
    return _ladder_loss(np.array([log_a, a, log_b, a, e]), nd)


def _init_ladder_loss_tied(nd: Any, y: np.ndarray):
    p0, (lo, hi) = _init_ladder_loss(nd, y)
    keep = [0, 1, 2, 4]
    return [p0[i] for i in keep], ([lo[i] for i in keep], [hi[i] for i in keep])


LADDER_LOSS_TIED = Law("ladder_loss_tied", ("log_A", "alpha", "log_B", "E"), _ladder_loss_tied,
                       _init_ladder_loss_tied, "L(N, D) = A / N^alpha + B / D^alpha + E  (N in 1e9, D in 1e11)")


# ---- score from loss (FLP / ladder stage 2) ----------------------------------------------------------------
def _sigmoid_score(theta: np.ndarray, loss: np.ndarray) -> np.ndarray:
    a, k, l0, b = theta
    return b + a * expit(-k * (np.asarray(loss, float) - l0))


def _init_sigmoid_score(loss: Any, y: np.ndarray):
    loss = np.asarray(loss, float)
    spread = max(float(loss.max() - loss.min()), 1e-3)
    p0 = [float(min(max(y.max() - y.min(), 0.05) * 1.5, 1.0)), 4.0 / spread, float(np.median(loss)),
          float(max(y.min() - 0.01, 0.0))]
    return p0, ([0.0, 0.0, float(loss.min()) - 5 * spread, 0.0], [1.0, 100.0 / spread, float(loss.max()) + 5 * spread, 1.0])


SIGMOID_SCORE = Law("sigmoid_score", ("a", "k", "L0", "b"), _sigmoid_score, _init_sigmoid_score,
                    "Acc(L) = a / (1 + exp(k (L - L0))) + b")


def _bounded_sigmoid(theta: np.ndarray, loss: np.ndarray) -> np.ndarray:
    floor, ceil, k, l0 = theta
    return floor + (ceil - floor) * expit(-k * (np.asarray(loss, float) - l0))


def bounded_sigmoid_law(chance: float, inflection_in_data: bool = False) -> Law:
    """Acc(L) = floor + (ceil - floor) / (1 + exp(k (L - L0))) with every parameter bounded by what it means:
    the floor (L -> infinity) near the task's chance level, the ceiling between the best accuracy seen and 1,
    a positive slope. With `inflection_in_data`, L0 may not lie below the lowest loss seen: the curve must
    already decelerate inside the data, so an extrapolation to lower losses cannot accelerate past it (the
    fallback when the free fit puts the inflection beyond the data, where nothing constrains it)."""

    def init(loss: Any, y: np.ndarray):
        loss = np.asarray(loss, float)
        spread = max(float(loss.max() - loss.min()), 1e-3)
        lo_floor = max(chance - 0.05, 0.0)
        hi_floor = max(chance + 0.05, float(np.quantile(y, 0.05)))
        lo_ceil = min(max(float(np.quantile(y, 0.95)), hi_floor + 1e-3), 1.0 - 1e-6)
        lo_l0 = float(loss.min()) if inflection_in_data else float(loss.min()) - 5 * spread
        lo = [lo_floor, lo_ceil, 1e-3 / spread, lo_l0]
        hi = [hi_floor, 1.0, 100.0 / spread, float(loss.max()) + 5 * spread]
        p0 = [min(max(chance, lo_floor), hi_floor), min(max(float(y.max()) + 0.1, lo_ceil), 1.0), 4.0 / spread,
              max(float(np.median(loss)), lo_l0)]
        return p0, (lo, hi)

    return Law("bounded_sigmoid", ("floor", "ceil", "k", "L0"), _bounded_sigmoid, init,
               "Acc(L) = floor + (ceil - floor) / (1 + exp(k (L - L0)))")


def _linear(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return theta[0] + theta[1] * np.asarray(x, float)


def _init_linear(x: Any, y: np.ndarray):
    slope, icept = np.polyfit(np.asarray(x, float), y, 1) if len(y) > 1 else (0.0, float(y[0]))
    return [float(icept), float(slope)], None


LINEAR = Law("linear", ("intercept", "slope"), _linear, _init_linear, "y = intercept + slope * x")


# ---- score against training tokens within one run (trajectory) ---------------------------------------------
def _log_linear(theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    return _linear(theta, np.log(np.asarray(d, float) / 1e11))


def _init_log_linear(d: Any, y: np.ndarray):
    return _init_linear(np.log(np.asarray(d, float) / 1e11), y)


LOG_LINEAR = Law("loglinear", ("intercept", "slope"), _log_linear, _init_log_linear, "y = c + w ln(D)")


def _sat_power(theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    c, log_a, b = theta
    return c - np.exp(log_a - b * np.log(np.asarray(d, float) / 1e11))


def _init_sat_power(d: Any, y: np.ndarray):
    top = float(min(y.max() + 0.05, 1.0))
    return [top, float(np.log(max(top - y.min(), 1e-3))) - 1.0, 0.3], ([float(y.max()), -20.0, 0.0], [1.0, 5.0, 3.0])


SAT_POWER = Law("power", ("c", "log_a", "b"), _sat_power, _init_sat_power, "y = c - a (D / 1e11)^(-b)")


def _sigmoid_log(theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    lo, hi, k, m = theta
    return lo + (hi - lo) * expit(k * (np.log(np.asarray(d, float) / 1e11) - m))


def _init_sigmoid_log(d: Any, y: np.ndarray):
    x = np.log(np.asarray(d, float) / 1e11)
    p0 = [float(y.min()), float(min(y.max() + 0.05, 1.0)), 1.0, float(np.median(x))]
    return p0, ([0.0, float(y.max()) - 1e-6, 0.0, float(x.min()) - 10], [float(y.min()) + 1e-6, 1.0, 20.0, float(x.max()) + 10])


SIGMOID_LOG = Law("sigmoid", ("lo", "hi", "k", "m"), _sigmoid_log, _init_sigmoid_log,
                  "y = lo + (hi - lo) / (1 + exp(-k (ln(D / 1e11) - m)))")
