"""Subset score -> full-set score: the monotone mapping of COD (step 5).

The predictable subset leaves out the outlier and non-extrapolatable clusters, so its score is not the task
score. COD maps one to the other with a smooth monotone function through (0, 0) and (1, 1) (a model that
solves nothing/everything in the subset does so on the full set), fitted on anchor models where both scores
are known. The paper uses a quartic; here

    f(x) = x + x·(1 - x)·q(x),   q a polynomial of degree `degree - 2`,

which passes through both end points by construction. The coefficients of q minimise the squared error on the
anchors plus `ridge`·|q|² (a pull towards the identity, needed when there are fewer anchors than
coefficients), subject to f'(x) >= 0 on a dense grid of [0, 1] (monotone), solved with SLSQP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from probecast.errors import ProbecastError

_GRID = np.linspace(0.0, 1.0, 201)


@dataclass
class MonotoneMapping:
    degree: int = 4
    ridge: float = 1e-3
    coef_: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def _basis(self, x: np.ndarray) -> np.ndarray:
        return np.vander(np.asarray(x, float), self.degree - 1, increasing=True)  # 1, x, ..., x^(deg-2)

    def _f(self, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        return x + x * (1 - x) * (self._basis(x) @ coef)

    def _slope(self, coef: np.ndarray) -> np.ndarray:
        h = 1e-4
        return (self._f(coef, np.minimum(_GRID + h, 1)) - self._f(coef, np.maximum(_GRID - h, 0))) / (2 * h)

    def fit(self, subset: np.ndarray, full: np.ndarray) -> "MonotoneMapping":
        x, y = np.asarray(subset, float), np.asarray(full, float)
        if self.degree < 2:
            raise ProbecastError(f"mapping degree {self.degree}: must be >= 2")
        if len(x) != len(y) or len(x) == 0:
            raise ProbecastError("mapping: give one full-set score per subset score (at least one anchor)")
        if not (np.all((x >= 0) & (x <= 1)) and np.all((y >= 0) & (y <= 1))):
            raise ProbecastError("mapping: anchor scores must lie in [0, 1]")

        def loss(coef: np.ndarray) -> float:
            return float(np.sum((self._f(coef, x) - y) ** 2) + self.ridge * np.sum(coef ** 2))

        sol = optimize.minimize(loss, np.zeros(self.degree - 1), method="SLSQP",
                                constraints=[{"type": "ineq", "fun": self._slope}], options={"maxiter": 500})
        coef = sol.x
        if np.min(self._slope(coef)) < -1e-6:  # solver stopped outside the feasible set: identity is feasible
            coef = np.zeros(self.degree - 1)
        self.coef_ = coef
        return self

    def predict(self, subset: np.ndarray | float) -> np.ndarray:
        """Full-set score(s) for subset score(s); a scalar in gives a 0-d array out."""
        if self.coef_.size == 0:
            raise ProbecastError("mapping: call fit() before predict()")
        x = np.clip(np.asarray(subset, float), 0, 1)
        return np.clip(self._f(self.coef_, x.ravel()), 0, 1).reshape(x.shape)

    def get_params(self) -> dict:
        return {"degree": self.degree, "ridge": self.ridge, "coef": self.coef_.round(6).tolist()}
