"""The shared fitting core: bounded (robust) least squares from several starts, plus uncertainty.

Every forecaster states its law as `fn(theta, x) -> y_hat` with named parameters and box bounds, and calls
`fit_curve`; nobody writes an optimiser of their own. Scaling-law fits are non-convex and badly scaled, so
the core (1) optimises with `scipy.optimize.least_squares` (trust-region reflective, bounds respected),
(2) restarts from several points drawn inside the bounds and keeps the lowest cost, (3) offers a robust loss
(`soft_l1`, `huber`, ...) against outlier checkpoints, and (4) gives uncertainty two ways: the delta method
from the Jacobian (`FitResult.cov`) and a bootstrap over points or groups of points (`bootstrap`).
`x` may be any array or tuple of arrays; the core never looks inside it except to resample rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy import optimize, stats

from probecast.errors import ProbecastError

LawFn = Callable[[np.ndarray, Any], np.ndarray]


@dataclass
class FitResult:
    """A fitted law: best parameters, their covariance (delta method) and optional bootstrap samples."""

    names: tuple[str, ...]
    params: np.ndarray
    residuals: np.ndarray  # y - y_hat at the fitted points
    cost: float
    cov: np.ndarray | None = None
    samples: np.ndarray | None = None  # [B, P] bootstrap refits
    n_points: int = 0
    extras: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.params)}

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.residuals ** 2)))

    @property
    def sigma(self) -> float:
        """Residual standard deviation with the degrees-of-freedom correction (0 when the fit is exact)."""
        dof = max(self.n_points - len(self.params), 1)
        return float(np.sqrt(np.sum(self.residuals ** 2) / dof))


def take_rows(x: Any, index: np.ndarray) -> Any:
    """Rows `index` of x (an array, or a tuple/list of arrays of equal length)."""
    if isinstance(x, (tuple, list)):
        return type(x)(np.asarray(a)[index] for a in x)
    return np.asarray(x)[index]


def n_rows(x: Any) -> int:
    return len(x[0]) if isinstance(x, (tuple, list)) else len(x)


def _starts(p0: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """p0 plus n-1 points inside the box: uniform where both bounds are finite, else p0 jittered."""
    out = [np.clip(p0, lo, hi)]
    for _ in range(n - 1):
        p = p0 * np.exp(rng.normal(0, 0.5, p0.shape)) + rng.normal(0, 0.1, p0.shape)
        finite = np.isfinite(lo) & np.isfinite(hi)
        p[finite] = rng.uniform(lo[finite], hi[finite])
        out.append(np.clip(p, lo, hi))
    return out


def fit_curve(fn: LawFn, x: Any, y: np.ndarray, p0: Sequence[float], names: Sequence[str],
              bounds: tuple[Sequence[float], Sequence[float]] | None = None, *, loss: str = "linear",
              f_scale: float = 1.0, weights: np.ndarray | None = None, n_starts: int = 8, seed: int = 0,
              ridge: float = 0.0, jac: Callable[[np.ndarray, Any], np.ndarray] | None = None,
              what: str = "fit") -> FitResult:
    """Minimise sum(loss(w * (fn(theta, x) - y))) over theta in bounds, from `n_starts` starts.

    `ridge` adds sqrt(ridge) * theta to the residuals (an L2 penalty; used by small networks); `jac(theta, x)`
    is d fn / d theta [n, P] when known analytically (else finite differences). `what` names the fit in errors. Raises ProbecastError when there are fewer points than parameters or no finite data.
    """
    y = np.asarray(y, float)
    p0 = np.asarray(p0, float)
    n_par = len(p0)
    lo, hi = (np.full(n_par, -np.inf), np.full(n_par, np.inf)) if bounds is None else map(np.asarray, bounds)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, float)
    if not np.all(np.isfinite(y)):
        raise ProbecastError(f"{what}: non-finite target values")
    if len(y) < max(n_par if ridge == 0 else 2, 2):
        raise ProbecastError(f"{what}: {len(y)} point(s) for a law with {n_par} parameters; "
                             "give more checkpoints/runs or a simpler law")

    def residual(theta: np.ndarray) -> np.ndarray:
        r = w * (fn(theta, x) - y)
        r = np.where(np.isfinite(r), r, 1e6)
        return np.concatenate([r, np.sqrt(ridge) * theta]) if ridge else r

    def jacobian(theta: np.ndarray) -> np.ndarray:
        j = w[:, None] * jac(theta, x)
        return np.vstack([j, np.sqrt(ridge) * np.eye(n_par)]) if ridge else j

    # Levenberg-Marquardt (MINPACK) is much faster when nothing is bounded and the loss is plain squares.
    unbounded = not (np.isfinite(lo).any() or np.isfinite(hi).any())
    method = "lm" if unbounded and loss == "linear" and len(y) + (n_par if ridge else 0) >= n_par else "trf"
    rng = np.random.default_rng(seed)
    best = None
    for start in _starts(p0, lo, hi, max(n_starts, 1), rng):
        try:
            sol = optimize.least_squares(residual, start, jac=jacobian if jac else "2-point", bounds=(lo, hi),
                                         loss=loss, f_scale=f_scale, method=method, max_nfev=max(200, 50 * n_par))
        except ValueError:
            continue
        if best is None or sol.cost < best.cost:
            best = sol
    if best is None:
        raise ProbecastError(f"{what}: the optimiser failed from every start")
    theta = best.x
    resid = y - fn(theta, x)
    jac = best.jac[: len(y)]
    dof = max(len(y) - n_par, 1)
    s2 = float(np.sum(resid ** 2) / dof)
    cov = np.linalg.pinv(jac.T @ jac) * s2
    return FitResult(tuple(names), theta, resid, float(best.cost), cov, None, len(y))


def bootstrap(fn: LawFn, x: Any, y: np.ndarray, result: FitResult, *, n_boot: int = 200,
              groups: np.ndarray | None = None, seed: int = 0, **fit_kwargs: Any) -> FitResult:
    """Refit on `n_boot` resamples (of rows, or of whole groups such as runs) from the best parameters.

    Stores the samples in `result.samples` and returns the result. Resamples that fail are skipped.
    """
    y = np.asarray(y, float)
    rng = np.random.default_rng(seed)
    units = np.arange(len(y)) if groups is None else np.asarray(groups)
    uniq = np.unique(units)
    bounds = fit_kwargs.pop("bounds", None)
    samples = []
    for _ in range(n_boot):
        chosen = rng.choice(uniq, size=len(uniq), replace=True)
        index = np.concatenate([np.flatnonzero(units == u) for u in chosen])
        try:
            r = fit_curve(fn, take_rows(x, index), y[index], result.params, result.names, bounds,
                          n_starts=1, seed=int(rng.integers(1 << 31)), **fit_kwargs)
        except ProbecastError:
            continue
        samples.append(r.params)
    result.samples = np.asarray(samples) if samples else None
    return result


def interval(center: float, draws: np.ndarray | None, level: float = 0.9, sd: float | None = None) -> tuple[float, float]:
    """A central `level` interval: percentiles of `draws` when given, else center +- z * sd."""
    if draws is not None and len(draws) >= 10:
        draws = draws[np.isfinite(draws)]
        a = (1 - level) / 2 * 100
        lo, hi = np.percentile(draws, [a, 100 - a])
        return float(min(lo, center)), float(max(hi, center))
    z = stats.norm.ppf(0.5 + level / 2)
    sd = 0.0 if sd is None or not np.isfinite(sd) else sd
    return float(center - z * sd), float(center + z * sd)


def predict_with_interval(fn: LawFn, result: FitResult, xq: Any, level: float = 0.9,
                          noise: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point predictions at xq with a `level` interval per point.

    With bootstrap samples: percentiles of the refits' predictions; without: the delta method
    (numerical gradient, `result.cov`). `noise` adds the residual spread, making it a prediction interval
    for a new observation rather than a confidence interval for the mean curve.
    """
    center = np.atleast_1d(np.asarray(fn(result.params, xq), float))
    sigma = result.sigma if noise else 0.0
    if result.samples is not None and len(result.samples) >= 10:
        draws = np.stack([np.atleast_1d(fn(s, xq)) for s in result.samples])
        if noise:
            rng = np.random.default_rng(0)
            draws = draws + rng.normal(0, sigma, draws.shape)
        bounds = [interval(c, draws[:, i], level) for i, c in enumerate(center)]
    else:
        grad = numerical_gradient(lambda p: np.atleast_1d(fn(p, xq)), result.params)
        cov = result.cov if result.cov is not None else np.zeros((len(result.params),) * 2)
        var = np.einsum("ip,pq,iq->i", grad, cov, grad) + sigma ** 2
        bounds = [interval(c, None, level, float(np.sqrt(max(v, 0)))) for c, v in zip(center, var)]
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    return center, lo, hi


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Central differences d f_i / d theta_p, shape [n_out, P]."""
    theta = np.asarray(theta, float)
    cols = []
    for p in range(len(theta)):
        h = 1e-6 * max(abs(theta[p]), 1e-3)
        up, down = theta.copy(), theta.copy()
        up[p] += h
        down[p] -= h
        cols.append((f(up) - f(down)) / (2 * h))
    return np.stack(cols, axis=1)
