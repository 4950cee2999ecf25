"""Long tables generated from known laws, so that tests (and users) can check a forecaster recovers them.

`ladder_table` draws a ladder of runs (sizes N, token budgets D = multiple x 20 N, checkpoints along each run)
whose task loss follows L(N, D) = E + A/N^alpha + B/D^beta, validation loss a power law of compute, and
accuracy a sigmoid of the task loss; `trajectory_table` draws score-against-tokens curves of one or more runs.
Noise is Gaussian with the given standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.forecast.laws import LADDER_LOSS, POWER_COMPUTE, SIGMOID_SCORE


@dataclass
class LadderTruth:
    ladder: tuple[float, ...] = (np.log(0.3), 0.35, np.log(0.4), 0.3, 0.6)  # log_A, alpha, log_B, beta, E
    sigmoid: tuple[float, ...] = (0.6, 3.0, 2.0, 0.25)  # a, k, L0, b
    power: tuple[float, ...] = (np.log(3.0), 0.05)  # validation loss: log_a, alpha (compute in 1e18)
    linear: tuple[float, ...] = (1.6, -0.4)  # score = intercept + slope * validation loss (for FLP)

    def task_loss(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return LADDER_LOSS.fn(np.array(self.ladder), (n, d))

    def score(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return SIGMOID_SCORE.fn(np.array(self.sigmoid), self.task_loss(n, d))

    def val_loss(self, c: np.ndarray) -> np.ndarray:
        return POWER_COMPUTE.fn(np.array(self.power), c)


def ladder_table(truth: LadderTruth | None = None, sizes=(1e8, 2e8, 4e8, 8e8), multiples=(0.5, 1, 2, 5),
                 n_checkpoints: int = 8, noise: float = 0.0, seed: int = 0, task: str = "toy") -> pd.DataFrame:
    """Metrics bpb/<task>, acc/<task> (ladder-style) and loss/val, loss/wiki, acc/<task>_flp (FLP-style)."""
    truth = truth or LadderTruth()
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        for m in multiples:
            budget = 20 * n * m
            for frac in np.linspace(1 / n_checkpoints, 1.0, n_checkpoints):
                d = budget * frac
                c = 6 * n * d
                run = f"{n / 1e6:.0f}M-{m}xC"
                step = int(round(frac * 1000 * m))
                bpb = float(truth.task_loss(np.array([n]), np.array([d]))[0])
                val = float(truth.val_loss(np.array([c]))[0])
                values = {f"bpb/{task}": bpb, f"acc/{task}": float(SIGMOID_SCORE.fn(np.array(truth.sigmoid), bpb)),
                          "loss/val": val, "loss/wiki": 0.8 * val,
                          f"acc/{task}_flp": truth.linear[0] + truth.linear[1] * val}
                for metric, v in values.items():
                    rows.append({"run": run, "step": step, "tokens": d, "flops": c, "params": n, "metric": metric,
                                 "value": v + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def trajectory_table(curve, tokens: np.ndarray, run: str = "toy", task: str = "toy", params: float = 1e8,
                     noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """One run whose acc/<task> at each token count is curve(tokens) + noise; step = index + 1."""
    rng = np.random.default_rng(seed)
    y = curve(np.asarray(tokens, float)) + rng.normal(0, noise, len(tokens))
    return pd.DataFrame({"run": run, "step": np.arange(1, len(tokens) + 1) * 1000, "tokens": tokens,
                         "flops": 6 * params * np.asarray(tokens, float), "params": params,
                         "metric": f"acc/{task}", "value": y})
