"""The per-cluster performance law of COD and the rule that marks a cluster predictable.

    y(C) = g + (1 - g) · exp(-a · C^(-b) - c)

`g` is the chance level of the task format (fixed, not fitted), C the training compute in units of
`compute_unit` (here: the smallest fitted model's FLOPs, so C >= 1 on the fitted models). The law follows from
a power law in the expected per-question loss: a·C^(-b) is the reducible part, c the irreducible part, so
exp(-c) is the fraction of the (above-chance) headroom that the cluster can reach.

A cluster is *predictable* (extrapolatable) when the fit is monotone and converging: a > min_a, b > min_b (a
real trend, not a flat line), min_c <= c < max_c (a ceiling at least exp(-max_c) of the headroom), a fit RMSE
at most `max_rmse`, and no parameter stuck at its upper bound (a jump the data cannot pin down). The paper's
rule is a > 1, b > 0.1, 0 <= c < 1 in its own compute unit. Here a depends on the unit (the smallest fitted
model), so a <= 1 only says the cluster was past exp(-1) = 37 % on the smallest model, not that its law fails;
and a cluster saturating at 30 % of its headroom (c = 1.2) follows its law as well as any. Excluding such
clusters hands them to the mapping, which extrapolates them worse: on the planted family of issue 18 (seeds
0-49) the paper's a > 1 and c < 1 cost 0.9 points of mean error. The defaults are therefore a > 0 and c < 5;
`PredictableRule(min_a=1, max_c=1)` (`--min-a 1 --max-c 1`) is the paper's rule.
"""

from __future__ import annotations

import numpy as np

from probecast.forecast.cod.mixture import mixture_law
from probecast.forecast.cod.rule import BOUNDS, NAMES, PredictableRule  # noqa: F401 (the rule lives without scipy)
from probecast.forecast.fitting import FitResult, fit_curve


def cluster_law(C: np.ndarray, a: float, b: float, c: float, g: float = 0.0, sigma: float = 0.0) -> np.ndarray:
    """The law; with `sigma` > 0 the cluster's mean over a log-normal spread of a (`cod.mixture`; an array of
    sigma, one per C, is a spread that changes with C)."""
    if np.any(sigma):
        return mixture_law(C, a, b, c, sigma, g)
    C = np.asarray(C, float)
    return g + (1.0 - g) * np.exp(-a * C ** (-b) - c)


def initial_guess(C: np.ndarray, y: np.ndarray, g: float) -> np.ndarray:
    """A start from the first and last point: with c = 0 and b = 0.5, solve the first point for a."""
    head = np.clip((y[0] - g) / (1 - g), 1e-4, 1 - 1e-4)
    return np.array([max(-np.log(head) * C[0] ** 0.5, 1e-3), 0.5, 0.0])


def fit_law(C: np.ndarray, y: np.ndarray, g: float = 0.0, weights: np.ndarray | None = None,
            p0: np.ndarray | None = None, n_starts: int = 8, seed: int = 0, what: str = "cluster law",
            c_prior: float = 0.0, fixed_b: float | None = None, sigma: float = 0.0) -> FitResult:
    """Least-squares fit of (a, b, c) to scores y at compute C (already in compute units).

    `p0` (e.g. the main fit, when refitting a bootstrap replicate) replaces the data-driven start.
    `c_prior` > 0 adds the residual c_prior * c: the irreducible term c stays near 0 unless the curve itself
    flattens. A cluster that has only just emerged (two points above zero) cannot tell a steep rise that
    saturates early (large b, large c) from a steady one (c = 0); without the prior the fit picks the former and
    caps the cluster far below where it goes.
    `fixed_b` holds b at that value and fits a and c only (the shrunk exponent of `cod.shrink`); the result
    still lists (a, b, c).
    `sigma` > 0 fits the mixture law of `cod.mixture` with that spread of a held (a is then the median a).
    """
    C, y = np.asarray(C, float), np.asarray(y, float)
    start = initial_guess(C, y, g) if p0 is None else np.asarray(p0, float)
    if fixed_b is not None:
        start = start.copy()
        start[1] = fixed_b

    def law(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        b = theta[1] if fixed_b is None else fixed_b
        return cluster_law(x, theta[0], b, theta[2], g, sigma)

    if not c_prior:
        return _hold_b(fit_curve(law, C, y, start, NAMES, BOUNDS, weights=weights, n_starts=n_starts, seed=seed,
                                 what=what), fixed_b)

    def penalised(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.append(law(theta, x), c_prior * theta[2])

    w = None if weights is None else np.append(np.asarray(weights, float), 1.0)
    res = fit_curve(penalised, C, np.append(y, 0.0), start, NAMES, BOUNDS, weights=w, n_starts=n_starts,
                    seed=seed, what=what)
    res.residuals = res.residuals[:-1]  # the fit's own residuals (rmse, the predictable rule), not the prior's
    return _hold_b(res, fixed_b)


def _hold_b(res: FitResult, fixed_b: float | None) -> FitResult:
    """With b held, the optimiser's b is a free coordinate the law ignores: report the held value."""
    if fixed_b is not None:
        res.params = np.array([res.params[0], fixed_b, res.params[2]])
    return res


def evaluate(result: FitResult, C: np.ndarray | float, g: float = 0.0, sigma: float = 0.0) -> np.ndarray:
    a, b, c = result.params
    return cluster_law(C, a, b, c, g, sigma)
