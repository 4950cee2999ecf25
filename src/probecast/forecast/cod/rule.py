"""The rule that marks a COD cluster predictable (see `law.py` for the law and why these defaults).

numpy-free and scipy-free, so the CLI reads its defaults without importing the fitting code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NAMES = ("a", "b", "c")
BOUNDS = ((0.0, 0.0, 0.0), (1e4, 5.0, 20.0))  # c >= 0: the law never exceeds 1
# Strength of the prior on each cluster law's irreducible c (`law.fit_law(c_prior=...)`, a residual C_PRIOR·c).
# Re-chosen on the planted family's dev seeds 0-49 once the shared prior on b and the count refinement existed
# (grid 0 / 0.01 / 0.02 / 0.03, see the README): 0 lets an emergent cluster run away (-12 points on that cluster
# with perfect clusters), 0.03 (the old value, chosen on seeds 0-11) biases the clusters whose curves do fix c
# upwards (+1.1 points on the saturating cluster, +1.4 on the very hard one).
C_PRIOR = 0.02


@dataclass
class PredictableRule:
    min_a: float = 0.0
    min_b: float = 0.1
    min_c: float = 0.0
    max_c: float = 5.0
    max_rmse: float = 0.1   # a fit this far off its own points is not trusted either

    def check(self, params: dict[str, float], rmse: float) -> tuple[bool, str]:
        """(predictable?, the first failed condition or 'ok')."""
        if params["a"] <= self.min_a:
            return False, f"a={params['a']:.3g} <= {self.min_a:g} (saturated or non-emergent)"
        if params["b"] <= self.min_b:
            return False, f"b={params['b']:.3g} <= {self.min_b:g} (no converging trend)"
        if not self.min_c <= params["c"] < self.max_c:
            return False, f"c={params['c']:.3g} outside [{self.min_c:g}, {self.max_c:g})"
        if rmse > self.max_rmse:
            return False, f"rmse={rmse:.3g} > {self.max_rmse:g} (irregular curve)"
        for name, upper in zip(NAMES, BOUNDS[1]):
            if params[name] >= 0.999 * upper:
                return False, f"{name}={params[name]:.3g} at its fit bound (curve not determined by the data)"
        return True, "ok"

    def as_dict(self) -> dict:
        return asdict(self)
