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


# ---- the planted family of issue 18: six clusters, five models 20M-500M at 20 tokens per parameter ----------
FAMILY_PARAMS = (20e6, 50e6, 100e6, 200e6, 500e6)
FAMILY_TARGET = 2.5e9
TOKENS_PER_PARAM = 20.0


def family_compute(params: float) -> float:
    return 6.0 * params * TOKENS_PER_PARAM * params


@dataclass
class PlantedFamily:
    """Per seed: six clusters drawn at random around six shapes (easy, medium, hard, very hard, emergent:
    near zero on every fitted model, saturating: ceiling exp(-c) well below 1), each question of a cluster with
    its own a and b (log-normal scatter `scatter_a`, normal `scatter_b`), five models of FAMILY_PARAMS at 20
    tokens per parameter, `samples` samples per question. `truth(params)` is the expected task score.

    `widen` > 1 stretches every range about its centre (log scale for a) for robustness checks beyond the
    family the settings were chosen on; `n_outliers` adds questions with random, non-law curves."""

    seed: int = 0
    chance: float = 0.0
    samples: int = 100
    scatter_a: float = 0.3
    scatter_b: float = 0.05
    params: tuple[float, ...] = FAMILY_PARAMS
    widen: float = 1.0
    n_outliers: int = 0

    def laws(self) -> list[tuple[float, float, float, int]]:
        r = np.random.default_rng(self.seed)
        w = self.widen

        def u(lo: float, hi: float) -> float:
            mid, half = (lo + hi) / 2, (hi - lo) / 2 * w
            return float(max(r.uniform(mid - half, mid + half), 0.0))

        def lu(lo: float, hi: float) -> float:
            mid, half = (np.log(lo) + np.log(hi)) / 2, (np.log(hi) - np.log(lo)) / 2 * w
            return float(np.exp(r.uniform(mid - half, mid + half)))
        n = lambda: int(r.integers(40, 101))  # noqa: E731
        return [(lu(0.5, 2), u(0.3, 0.6), u(0, 0.1), n()),      # easy
                (lu(2, 6), u(0.3, 0.6), u(0, 0.2), n()),        # medium
                (lu(6, 20), u(0.3, 0.6), u(0, 0.2), n()),       # hard
                (lu(20, 60), u(0.4, 0.7), u(0, 0.1), n()),      # very hard
                (lu(50, 500), u(0.6, 0.9), u(0, 0.1), n()),     # emergent
                (lu(1, 5), u(0.4, 0.8), u(0.5, 1.2), n())]      # saturating below its ceiling

    def _questions(self) -> tuple[np.ndarray, np.ndarray]:
        r = np.random.default_rng(self.seed + 10_000)
        a, b = [], []
        for la, lb, lc, size in self.laws():
            a.append(np.column_stack([la * np.exp(r.normal(0, self.scatter_a, size)),
                                      np.full(size, lc)]))
            b.append(lb + r.normal(0, self.scatter_b, size))
        ac, bb = np.vstack(a), np.clip(np.concatenate(b), 0.05, None)
        return np.column_stack([ac[:, 0], bb, ac[:, 1]]), bb

    def curves(self, params: np.ndarray) -> np.ndarray:
        """(Q, M) expected pass rates at the given model sizes (compute in units of the smallest model).

        Outlier questions (the last `n_outliers` rows) draw one random pass rate per model size."""
        q, _ = self._questions()
        C = np.array([family_compute(p) for p in np.atleast_1d(params)]) / family_compute(self.params[0])
        y = cluster_law(C[None, :], q[:, :1], q[:, 1:2], q[:, 2:3], self.chance)
        if not self.n_outliers:
            return y
        noise = [[np.random.default_rng([self.seed, 30_000, q, int(round(np.log(p) * 1e3))]).uniform()
                  for p in np.atleast_1d(params)] for q in range(self.n_outliers)]  # same value at every call
        return np.vstack([y, np.asarray(noise)])

    def truth(self, params: float = FAMILY_TARGET) -> float:
        return float(self.curves(np.array([params])).mean())

    def rows(self) -> pd.DataFrame:
        r = np.random.default_rng(self.seed + 20_000)
        y = self.curves(np.asarray(self.params))
        correct = r.binomial(self.samples, np.clip(y, 0, 1))
        return pd.DataFrame([{"model": f"m{int(p / 1e6)}M", "params": p, "tokens": TOKENS_PER_PARAM * p,
                              "flops": family_compute(p), "task": "planted", "question_id": f"q{q:04d}",
                              "n": self.samples, "c": int(correct[q, m])}
                             for q in range(len(y)) for m, p in enumerate(self.params)])
