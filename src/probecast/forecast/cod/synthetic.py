"""Generated per-question tables with planted difficulty clusters and known law parameters.

Used by the tests (does clustering recover the planted groups? does the fit recover a, b, c?) and handy for
trying COD settings without a model series. Every question of cluster k follows
y(C) = g + (1-g)·exp(-a_k·(C/C_0)^(-b_k) - c_k) up to a small per-question jitter of a_k, and its correct
count on a model is Binomial(n, y).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from probecast.forecast.cod.law import cluster_law


@dataclass
class PlantedSeries:
    laws: list[tuple[float, float, float]] = field(default_factory=lambda: [
        (0.3, 0.5, 0.0), (2.0, 0.6, 0.05), (6.0, 0.7, 0.1), (20.0, 0.8, 0.0)])
    sizes: list[int] = field(default_factory=lambda: [60, 60, 60, 60])
    n_outliers: int = 0
    compute: list[float] = field(default_factory=lambda: [1e17 * 2.0 ** i for i in range(8)])
    chance: float = 0.0
    samples: int = 100
    jitter: float = 0.05       # log-normal sd of a per question
    seed: int = 0

    def rows(self) -> tuple[pd.DataFrame, np.ndarray]:
        """(per-question table, planted cluster per question id order; -1 for outliers)."""
        rng = np.random.default_rng(self.seed)
        C = np.asarray(self.compute, float) / self.compute[0]
        curves, truth = [], []
        for k, ((a, b, c), size) in enumerate(zip(self.laws, self.sizes)):
            for _ in range(size):
                curves.append(cluster_law(C, a * np.exp(rng.normal(0, self.jitter)), b, c, self.chance))
                truth.append(k)
        for _ in range(self.n_outliers):  # non-monotone, irregular curves
            curves.append(rng.uniform(0, 1, len(C)))
            truth.append(-1)
        rows = []
        for q, curve in enumerate(curves):
            correct = rng.binomial(self.samples, np.clip(curve, 0, 1))
            for m, (flops, cq) in enumerate(zip(self.compute, correct)):
                rows.append({"model": f"m{m}", "params": np.nan, "tokens": np.nan, "flops": flops,
                             "task": "synthetic", "question_id": f"q{q:04d}", "n": self.samples, "c": int(cq)})
        return pd.DataFrame(rows), np.asarray(truth)
