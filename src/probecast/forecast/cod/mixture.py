"""The mixture law of a COD cluster: the mean of the per-question law over a log-normal spread of a.

A cluster's questions do not share one a: each has its own (a_i = a · e^(σ z_i), z_i ~ N(0, 1)), and COD fits
the cluster's MEAN curve. The mean of exp(-a_i · C^(-b) - c) over a log-normal a_i is not a law of the same
form: far below the cluster's median the mean is ruled by its easiest questions (it rises early and slowly), far
above by its hardest (it approaches its ceiling slowly). One plain law fitted to that mean curve takes the
early, slow rise for a small b and extrapolates it wrongly. The mixture law states the mean curve itself:

    y(C) = g + (1 - g) · E_z[exp(-a · e^(σ z) · C^(-b) - c)],   z ~ N(0, 1),

with a the cluster's median a. The expectation is a Gauss-Hermite sum (`numpy.polynomial.hermite_e.hermegauss`,
the probabilists' weights for N(0, 1)); with σ = 0 it is the plain law exactly. The integrand is smooth in z
(a double exponential): against a fine-grid integral the 24-node sum is off by < 1e-8 for σ <= 0.8, 3e-5 at
σ = 1.5 and 8e-4 at σ = 2.5 (the bound of the estimate), for a from 0.5 to 500 and C from 1 to 15625.

σ is not fitted to the mean curve (five points do not pin down four parameters): `estimate_sigma` reads it off
the cluster's per-question counts, by the marginal binomial likelihood of the questions under the mixture (each
question's counts integrated over its own z), with (a, b, σ) free and c held at the plain fit's value. The counts
see the spread directly: two questions of the same cluster at 5/100 and 40/100 on one model are σ apart,
whatever the mean curve does. Only σ is kept; the cluster's (a, b, c) are then fitted to its mean curve by least
squares as before (`cod.law.fit_law(..., sigma=σ)`), so the shared prior on b (`cod.shrink`) and the prior on c
work unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

N_NODES = 24
_Z, _W = hermegauss(N_NODES)
_W = _W / _W.sum()           # weights of the standard normal: sum to 1
MAX_SIGMA = 2.5              # upper bound of the estimate (a 12x spread of a per standard deviation)


def mixture_law(C: np.ndarray, a: float, b: float, c: float, sigma: float, g: float = 0.0) -> np.ndarray:
    """g + (1-g)·E_z[exp(-a·e^(σz)·C^(-b) - c)] by Gauss-Hermite quadrature; broadcasts like `cluster_law`."""
    C = np.asarray(C, float)
    head = np.asarray(a * C ** (-b), float)
    scale = np.exp(np.asarray(sigma, float)[..., None] * _Z)            # (..., nodes)
    mean = np.exp(-head[..., None] * scale - np.asarray(c, float)[..., None]) @ _W
    return g + (1.0 - g) * mean


def mixture_jacobian(C: np.ndarray, a: float, b: float, c: float, sigma: float, g: float = 0.0) -> np.ndarray:
    """(M, 2) d y / d a and d y / d b of the mixture law (for the delta-method variance of b in `cod.shrink`)."""
    C = np.asarray(C, float)
    scale = np.exp(sigma * _Z)[None, :]                                 # (1, nodes)
    head = (C ** (-b))[:, None] * scale                                 # (M, nodes): e^(σz) C^-b
    inner = np.exp(-a * head - c)
    d_a = -(1 - g) * (head * inner) @ _W
    d_b = (1 - g) * (a * head * np.log(C)[:, None] * inner) @ _W
    return np.column_stack([d_a, d_b])


def _question_loglik(C: np.ndarray, k: np.ndarray, n: np.ndarray, a: float, b: float, c: float, sigma: float,
                     g: float) -> np.ndarray:
    """(Q,) each question's binomial log-likelihood integrated over its z (constants dropped)."""
    a_node = a * np.exp(sigma * _Z)                                     # (nodes,)
    y = g + (1 - g) * np.exp(-a_node[:, None] * C[None, :] ** (-b) - c)  # (nodes, M)
    y = np.clip(y, 1e-12, 1 - 1e-12)
    ll = k @ np.log(y).T + (n - k) @ np.log1p(-y).T                     # (Q, nodes)
    top = ll.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(ll - top) @ _W)


def estimate_sigma(C: np.ndarray, k: np.ndarray, n: np.ndarray, start: np.ndarray, g: float = 0.0) -> float:
    """σ of a cluster from its questions' counts k, n (Q, M): the maximum of the marginal likelihood over
    (log a, b, σ) with c held at `start`'s (the plain fit's (a, b, c), also the start). A cluster of one
    question, or one whose counts are all 0 (or all n), has no spread to see: σ = 0."""
    from scipy import optimize

    C, k, n = np.asarray(C, float), np.asarray(k, float), np.asarray(n, float)
    frac = k / n
    if len(k) < 2 or not ((frac > 0) & (frac < 1)).any():
        return 0.0
    a0, b0, c0 = (float(v) for v in start)

    def nll(theta: np.ndarray) -> float:
        val = -_question_loglik(C, k, n, np.exp(theta[0]), theta[1], c0, theta[2], g).sum()
        return float(val) if np.isfinite(val) else 1e300

    best = None
    for s0 in (0.2, 0.6):  # a narrow and a wide start: the likelihood in σ can have a shoulder
        x0 = np.array([np.log(max(a0, 1e-3)), np.clip(b0, 0.05, 3.0), s0])
        sol = optimize.minimize(nll, x0, method="L-BFGS-B",
                                bounds=[(np.log(1e-4), np.log(1e5)), (0.01, 5.0), (0.0, MAX_SIGMA)])
        if best is None or sol.fun < best.fun:
            best = sol
    return float(best.x[2])
