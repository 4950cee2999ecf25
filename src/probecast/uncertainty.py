"""Growing an interval by an independent error, shared by the forecasters and the probes.

A bootstrap interval says how much an estimate moves with the sample (questions, checkpoints, runs); a
backtest or an evaluation measures a further, independent error (the law's form, the probe being wrong at a
checkpoint it never saw). Independent spreads add in quadrature, each side of the point on its own, so an
asymmetric interval stays asymmetric and the point is untouched.
"""

from __future__ import annotations

import numpy as np


def grow_in_quadrature(point: float, lo: float, hi: float, half: float,
                       bounds: tuple[float, float] | None = (0.0, 1.0)) -> tuple[float, float]:
    """(lo, hi) with each side grown to sqrt(side² + half²); clipped to `bounds` (None: not clipped)."""
    lo, hi = point - float(np.hypot(point - lo, half)), point + float(np.hypot(hi - point, half))
    if bounds is not None:
        lo, hi = float(np.clip(lo, *bounds)), float(np.clip(hi, *bounds))
    return lo, hi
