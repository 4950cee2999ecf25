"""A shared prior on the exponent b across the clusters of one task (empirical-Bayes shrinkage).

A cluster that is still near zero on every fitted model but the last has one point to fix two numbers (how
far it is from emerging, a, and how fast it rises, b): any b fits. The least-squares fit then returns
whatever the optimiser reaches, often a steep rise (b > 1) that overshoots the target by tens of points.
The other clusters of the same task, whose curves do determine their b, say what exponents this task has.

1. `b_variance`: how well a cluster's own data determine its b, the delta-method variance of b from the
   Jacobian of the law at the fitted (a, b) with the noise of the cluster's mean curve (`mean_curve_se`: the
   binomial standard error of the pooled counts, with half a count added so a point at zero is not exact, or
   the spread between the cluster's questions, whichever is larger), scaled up by the fit's reduced chi-square
   when the law misses the points by more than that noise. A point at zero carries no information about b (the
   law's derivative there is zero); one point above zero leaves (a, b) singular: infinite variance.
2. `pool`: a random-effects meta-analysis of the clusters' b (DerSimonian-Laird): the pooled mean mu and the
   between-cluster spread tau^2, each cluster weighted by 1 / (its variance + tau^2).
3. `posterior`: each cluster's b moves to the precision-weighted mean of its own b and mu; a well-determined b
   (variance << tau^2) stays where it is, an undetermined one becomes mu. The forecaster then refits a and c
   with b held at that value (`fit_law(..., fixed_b=...)`).

This is the usual normal-normal hierarchical model (e.g. Gelman et al., Bayesian Data Analysis, ch. 5), with the
between-cluster variance estimated as in DerSimonian & Laird (1986).
"""

from __future__ import annotations

import numpy as np

from probecast.forecast.cod.law import PredictableRule, cluster_law
from probecast.forecast.cod.mixture import mixture_jacobian
from probecast.forecast.fitting import FitResult


def mean_curve_se(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(M,) standard error of a cluster's mean pass rate per model from its (Q, M) correct/sample counts."""
    c, n = np.asarray(c, float), np.asarray(n, float)
    total, hits = n.sum(axis=0), c.sum(axis=0)
    p = (hits + 0.5) / (total + 1.0)
    binomial = p * (1 - p) / total
    spread = (c / n).var(axis=0, ddof=1) / len(c) if len(c) > 1 else np.zeros_like(binomial)
    return np.sqrt(np.maximum(binomial, spread))


def b_variance(C: np.ndarray, params: np.ndarray, se: np.ndarray, g: float = 0.0,
               residuals: np.ndarray | None = None, sigma: float = 0.0) -> float:
    """Delta-method variance of b given the points' standard errors `se` (a and b free, c held at its fit).

    With the fit's `residuals`, the variance is scaled by the reduced chi-square max(1, sum((r/se)^2) / (M - 3))
    when the law misses its points by more than their noise (the Birge ratio; scipy's curve_fit with
    absolute_sigma=False does the same): a cluster that mixes questions emerging at different sizes fits its
    mean curve worse than its counts' noise, and its b is less certain than the counts alone say.
    `sigma` > 0: the Jacobian of the mixture law (`cod.mixture`) the cluster was fitted with."""
    a, b, c = params
    if sigma:
        J = mixture_jacobian(C, a, b, c, sigma, g)
    else:
        y = cluster_law(C, a, b, c, g)
        head = (y - g) * C ** (-b)                     # d y / d a = -(y - g) C^-b
        J = np.column_stack([-head, head * a * np.log(C)])  # columns: d/da, d/db
    J = J / se[:, None]
    info = J.T @ J
    schur = info[1, 1] - (info[0, 1] ** 2 / info[0, 0] if info[0, 0] > 0 else 0.0)
    if not np.isfinite(schur) or schur <= 1e-12 * max(info[1, 1], 1e-300):
        return float("inf")
    birge = 1.0 if residuals is None else max(1.0, float(np.sum((residuals / se) ** 2)) / max(len(C) - 3, 1))
    return float(birge / schur)


def pool(b: np.ndarray, var: np.ndarray) -> tuple[float, float]:
    """(mu, tau^2): DerSimonian-Laird random-effects mean and between-cluster variance of the finite-variance b."""
    b, var = np.asarray(b, float), np.asarray(var, float)
    ok = np.isfinite(var) & (var > 0) & np.isfinite(b)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    b, w = b[ok], 1.0 / var[ok]
    fixed = float(np.sum(w * b) / np.sum(w))
    q = float(np.sum(w * (b - fixed) ** 2))
    tau2 = max(0.0, (q - (len(b) - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w)))
    wr = 1.0 / (var[ok] + tau2)
    return float(np.sum(wr * b) / np.sum(wr)), float(tau2)


def posterior(b: float, var: float, mu: float, tau2: float) -> float:
    """The cluster's b shrunk towards mu: precision-weighted, b itself when there is no prior."""
    if not np.isfinite(mu) or not np.isfinite(tau2):
        return float(b)
    if not np.isfinite(var):
        return float(mu)
    if tau2 <= 0:
        return float(mu)
    return float((b / var + mu / tau2) / (1.0 / var + 1.0 / tau2)) if var > 0 else float(b)


def task_prior(C: np.ndarray, fits: list[FitResult], counts: list[tuple[np.ndarray, np.ndarray]],
               rule: PredictableRule, g: float = 0.0,
               sigmas: list[float] | None = None) -> tuple[list[float], tuple[float, float]]:
    """Per cluster: the variance of its freely fitted b; and the task's (mu, tau^2) pooled over the clusters
    whose free fit passes the predictable rule. `counts`: each cluster's (correct, samples) arrays (Q_k, M);
    `sigmas`: each cluster's spread of a when its laws are mixture laws (`cod.mixture`)."""
    sigmas = [0.0] * len(fits) if sigmas is None else sigmas
    var = [b_variance(C, f.params, mean_curve_se(c, n), g, f.residuals, s)
           for f, (c, n), s in zip(fits, counts, sigmas)]
    ok = [rule.check(f.as_dict(), f.rmse)[0] for f in fits]
    prior = pool(np.array([f.params[1] for f in fits]), np.array([v if o else np.nan for v, o in zip(var, ok)]))
    return var, prior
