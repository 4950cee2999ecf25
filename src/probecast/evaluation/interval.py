"""Task-score intervals that include the probe's own error, not only which questions were asked.

A bootstrap over questions says how much the task score would move with another sample of questions; it
says nothing about the probe being wrong at a checkpoint it never saw (on the embedded run's quick monitor
measurement the actual score fell outside that interval on 5 of 8 tasks). The evaluation (`probecast
evaluate`) measures exactly that error: |predicted − actual| task score on test checkpoints later than every
training one. `probe_score_errors` reads it per task (root mean square over the test checkpoints) and
`widen` adds it in quadrature to the bootstrap interval, the way the forecasters add their backtest error.
Without an evaluation of that probe the interval stays the bootstrap one, and the output says so.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from probecast.evaluation.metrics import bootstrap_mean_ci
from probecast.stored import read_parquet
from probecast.uncertainty import grow_in_quadrature
from probecast.workspace import Workspace

BOOTSTRAP = "bootstrap over questions"
WITH_ERROR = "bootstrap over questions + the probe's task-score error on later checkpoints (evaluation)"


def score_errors(table: pd.DataFrame, probe: str) -> dict[str, float]:
    """{task: RMS of predicted − actual task score of `probe`} from an evaluation's per-checkpoint table."""
    if not {"method", "task", "pred_score", "true_score"} <= set(table.columns):
        return {}
    rows = table[table["method"] == probe]
    err = (rows["pred_score"] - rows["true_score"]).astype(float)
    return {str(t): float(np.sqrt(np.mean(e.to_numpy() ** 2))) for t, e in err.groupby(rows["task"]) if len(e)}


def probe_score_errors(ws: Workspace, probe: str) -> dict[str, float]:
    """`score_errors` of the workspace's evaluation (W/evaluation/per_checkpoint.parquet); {} without one."""
    path = ws.root / "evaluation" / "per_checkpoint.parquet"
    return score_errors(read_parquet(path), probe) if path.exists() else {}


def widen(mean: float, lo: float, hi: float, sd: float | None, level: float = 0.95) -> tuple[float, float]:
    """Add a normal error of sd `sd` to a (lo, hi) interval around `mean` in quadrature, clipped to [0, 1]."""
    if sd is None or not np.isfinite(sd) or sd <= 0:
        return lo, hi
    return grow_in_quadrature(mean, lo, hi, NormalDist().inv_cdf((1 + level) / 2) * sd)


def task_score_interval(p: np.ndarray, score_error: float | None, n_boot: int = 1000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float, str]:
    """(lo, hi, what the interval covers) of the task score mean(p): the question bootstrap, widened by the
    probe's measured task-score error when there is one."""
    mean = float(np.mean(p))
    lo, hi = widen(mean, *bootstrap_mean_ci(p, n_boot=n_boot, level=level, seed=seed), score_error, level)
    return lo, hi, BOOTSTRAP if score_error is None else WITH_ERROR
