"""Calibration helpers shared by the answer-log-likelihood baseline and the hybrid probe.

`LoglikCalibrator` maps the teacher-forced log-likelihood of the reference answer to P(success). For an
answer sampled at temperature 1 with a single accepted form, pass@1 *is* exp(loglik); when several forms or
paths are accepted (a scratchpad in any order, a lenient scorer) pass@1 ≈ m·exp(loglik) with m >= 1 the task's
effective number of paths. So p = sigmoid(logit(exp(loglik)) + δ_task) with δ_task = log m >= 0 fitted per
task on the training rows (δ = 0 gives exactly exp(loglik)). It extrapolates to later checkpoints — a task
with no success in the training rows keeps δ = 0, the likelihood taken at face value, instead of a fitted
"never succeeds" — and within a task it ranks exactly as the raw log-likelihood. Measured on the embedded run
(README): free slopes or an isotonic map fitted on early checkpoints extrapolate worse (task-score error
0.09–0.12 vs 0.05), since later checkpoints live at log-likelihoods the early ones never reached.

`stack_logistic`: the hybrid's stacker, a soft-target logistic on a few standardised columns with the
calibrated log-likelihood logit as an offset whose weight is shrunk towards 1.
"""

from __future__ import annotations

import json

import numpy as np

from probecast.features.featureset import FeatureSet
from probecast.probes.inputs import loglik_features

EPS = 1e-4


def stack_logistic(A: np.ndarray, offset: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, float]:
    """Soft-target logistic s = c·offset + A·w + b (A standardised) -> (w [k], b, c).

    The calibrated log-likelihood logit enters with its weight c shrunk towards 1 (L2 on c − 1, w and b):
    the other columns correct it only where they help on the training rows, and the calibration's
    extrapolation to later checkpoints (see `LoglikCalibrator`) is kept."""
    from scipy.optimize import minimize

    A = np.asarray(A, dtype=np.float64)
    offset = np.asarray(offset, dtype=np.float64)
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    n, k = A.shape
    prior = np.r_[np.zeros(k + 1), 1.0]  # w, b -> 0; c -> 1

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b, c = theta[:k], theta[k], theta[k + 1]
        s = c * offset + A @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(s, -50, 50)))
        g = (p - y) / n
        d = theta - prior
        val = np.mean(np.logaddexp(0.0, s) - y * s) + l2 * float(d @ d)
        return val, np.concatenate([A.T @ g, [g.sum(), g @ offset]]) + 2 * l2 * d

    res = minimize(loss, prior.copy(), jac=True, method="L-BFGS-B")
    return res.x[:k].copy(), float(res.x[k]), float(res.x[k + 1])


def _z(ll: np.ndarray) -> np.ndarray:
    """logit(exp(ll)) = ll − log(1 − exp(ll)), computed stably for ll <= 0."""
    ll = np.minimum(np.asarray(ll, dtype=np.float64), -1e-6)
    return ll - np.log(-np.expm1(ll))


def _encode(names: list[str]) -> np.ndarray:
    return np.frombuffer(json.dumps(names).encode(), dtype=np.uint8).copy()


def _decode(arr: np.ndarray) -> list[str]:
    return json.loads(bytes(np.asarray(arr, dtype=np.uint8)).decode())


class LoglikCalibrator:
    def __init__(self, max_offset: float = 50.0) -> None:
        self.max_offset = max_offset  # large enough for multiple-choice gold log-likelihoods (pass@1 = argmax)

    def fit(self, X: FeatureSet, y: np.ndarray) -> "LoglikCalibrator":
        from scipy.optimize import minimize_scalar

        z = _z(loglik_features(X)[:, 0])
        tasks = X.task.astype(str)
        y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
        self.tasks_ = sorted(set(tasks))
        offsets = []
        for t in self.tasks_:
            zt, yt = z[tasks == t], y[tasks == t]
            res = minimize_scalar(lambda d: float(np.mean(np.logaddexp(0.0, zt + d) - yt * (zt + d))),
                                  bounds=(0.0, self.max_offset), method="bounded")
            offsets.append(float(res.x) if res.x > 1e-3 else 0.0)
        self.offsets_ = np.array(offsets)
        return self

    def logit(self, X: FeatureSet) -> np.ndarray:
        known = dict(zip(self.tasks_, self.offsets_))
        return _z(loglik_features(X)[:, 0]) + np.array([known.get(t, 0.0) for t in X.task.astype(str)])

    def proba(self, X: FeatureSet) -> np.ndarray:
        return np.clip(1.0 / (1.0 + np.exp(-np.clip(self.logit(X), -50, 50))), EPS, 1 - EPS)

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}offsets": self.offsets_, f"{prefix}tasks": _encode(self.tasks_)}

    @staticmethod
    def from_state(arrays: dict[str, np.ndarray], prefix: str) -> "LoglikCalibrator":
        c = LoglikCalibrator()
        c.offsets_, c.tasks_ = arrays[f"{prefix}offsets"], _decode(arrays[f"{prefix}tasks"])
        return c
