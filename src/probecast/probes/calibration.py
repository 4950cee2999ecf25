"""Calibration helpers shared by the answer-log-likelihood baseline and the hybrid probe.

`LoglikCalibrator`: a *strictly* monotone map from the answer log-likelihood to P(success): isotonic
regression of pass@1 on loglik over the training rows (no functional form imposed, so exp(loglik) ≈ pass@1
is kept where it holds and the rows of tasks where it does not are averaged), plus a 1e-4-weight sigmoid of
loglik that breaks the isotonic steps' ties, so the within-checkpoint ranking is exactly the raw
log-likelihood's. A global logistic on several loglik features is neither: it mixes features (changing the
ranking) and its slope is pulled flat by tasks whose reference-answer likelihood says nothing (multi-step
tasks, where the model writes a scratchpad first).

`stack_logistic`: a soft-target logistic on a few standardised columns (the stacker of the hybrid).
"""

from __future__ import annotations

import numpy as np

from probecast.features.featureset import FeatureSet
from probecast.probes.inputs import loglik_features
from probecast.probes.linear import fit_linear_grid
from probecast.probes.torch_train import torch_threads

TIE = 1e-4
EPS = 1e-4


def stack_logistic(A: np.ndarray, y: np.ndarray, l2: float, threads: int = 1) -> tuple[np.ndarray, float]:
    """Soft-target logistic on a few standardised columns -> (coef [k], intercept)."""
    with torch_threads(threads):
        W, b = fit_linear_grid("logistic", A[:, None, :].astype(np.float32), y, [l2], max_iter=200)
    return W[0, 0].double().numpy(), float(b[0, 0])


class LoglikCalibrator:
    def fit(self, X: FeatureSet, y: np.ndarray) -> "LoglikCalibrator":
        from sklearn.isotonic import IsotonicRegression

        ll = loglik_features(X)[:, 0]
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(ll, y)
        self.x_, self.y_ = iso.X_thresholds_.astype(np.float64), iso.y_thresholds_.astype(np.float64)
        self.center_, self.scale_ = float(np.median(ll)), float(ll.std() or 1.0)
        return self

    def proba(self, X: FeatureSet) -> np.ndarray:
        ll = loglik_features(X)[:, 0]
        p = np.interp(ll, self.x_, self.y_)
        tie = 1.0 / (1.0 + np.exp(-(ll - self.center_) / self.scale_))
        return np.clip((1 - TIE) * p + TIE * tie, EPS, 1 - EPS)

    def logit(self, X: FeatureSet) -> np.ndarray:
        p = self.proba(X)
        return np.log(p / (1 - p))

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}x": self.x_, f"{prefix}y": self.y_,
                f"{prefix}center_scale": np.array([self.center_, self.scale_])}

    @staticmethod
    def from_state(arrays: dict[str, np.ndarray], prefix: str) -> "LoglikCalibrator":
        c = LoglikCalibrator()
        c.x_, c.y_ = arrays[f"{prefix}x"], arrays[f"{prefix}y"]
        c.center_, c.scale_ = (float(v) for v in arrays[f"{prefix}center_scale"])
        return c
