"""Task-dynamic prediction ("The Fine Line", arXiv 2404.01204): an unseen task's trajectory from the seen
tasks of its domain, evaluated leave-one-task-out against a mean-of-domain baseline.

For a held-out task t of domain D, the predictors are the scores of the other tasks of D at the same
checkpoint. The model is a ridge regression (alpha by internal CV, raw scores, output clipped to [0, 1]) from
those scores to t's score, and it never sees t on the run it predicts:

* `split="run"` (two or more runs): leave-one-run-out. The regression is fitted on every checkpoint of the
  other runs, where t was evaluated, and predicts t's whole trajectory on the held-out run from that run's
  seen tasks.
* `split="time"` (a single run): fitted on the first `train_fraction` of the run's checkpoints, it predicts
  t on the later ones.

Baselines: the mean of the seen tasks' scores at each checkpoint (`mean_of_domain`, as asked), and that mean
rescaled to the task by a linear fit on the same training rows (`scaled_mean`: does the multi-task
regression add anything beyond the task's level and slope?). Errors are mean absolute errors over the
predicted checkpoints, averaged over held-out runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.dynamics.scores import ScoreMatrix
from probecast.errors import ProbecastError

ALPHAS = np.logspace(-4, 2, 13)


@dataclass
class LotoConfig:
    split: str = "auto"          # auto | run | time
    train_fraction: float = 0.5  # split="time": the share of checkpoints the regression is fitted on


class _Ridge:
    """Ridge (alpha by leave-one-out CV) on the raw scores, predictions clipped to the score scale [0, 1].

    No standardisation: every feature is already a score on the same scale, and dividing by the spread of a
    task that is still flat on the training rows would blow its weight up when it starts to move."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import RidgeCV

        self.model = RidgeCV(alphas=ALPHAS).fit(X, y)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.clip(self.model.predict(X), 0.0, 1.0)


def _ridge(X: np.ndarray, y: np.ndarray) -> _Ridge:
    return _Ridge(X, y)


def _splits(sm: ScoreMatrix, cfg: LotoConfig) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, train rows, test rows) per fold."""
    split = cfg.split if cfg.split != "auto" else ("run" if len(sm.runs) >= 2 else "time")
    if split == "run":
        if len(sm.runs) < 2:
            raise ProbecastError("--split run needs at least two runs; use --split time for one run")
        return [(run, np.setdiff1d(np.arange(len(sm.index)), sm.rows_of(run)), sm.rows_of(run)) for run in sm.runs]
    if split != "time":
        raise ProbecastError(f"--split {cfg.split!r}: expected auto, run or time")
    folds = []
    for run in sm.runs:
        rows = sm.rows_of(run)
        rows = rows[np.argsort(sm.index["step"].to_numpy()[rows])]
        cut = max(int(round(cfg.train_fraction * len(rows))), 3)
        if cut < len(rows):
            folds.append((run, rows[:cut], rows[cut:]))
    if not folds:
        raise ProbecastError("--split time: no run has checkpoints after the training fraction")
    return folds


def leave_one_task_out(sm: ScoreMatrix, config: LotoConfig | None = None) -> pd.DataFrame:
    """One row per (domain, task): MAE of the regression and of the mean-of-domain baseline."""
    cfg = config or LotoConfig()
    folds = _splits(sm, cfg)
    S = sm.scores
    rows = []
    for domain, tasks in sm.domain_tasks().items():
        if len(tasks) < 2:
            continue  # no seen task to predict from
        for task in tasks:
            seen = [t for t in tasks if t != task]
            X, y = S[seen].to_numpy(), S[task].to_numpy()
            mean = X.mean(axis=1)
            err_model, err_base, err_scaled = [], [], []
            for _, train, test in folds:
                pred = _ridge(X[train], y[train]).predict(X[test])
                slope, intercept = np.polyfit(mean[train], y[train], 1)
                err_model.append(np.mean(np.abs(pred - y[test])))
                err_base.append(np.mean(np.abs(mean[test] - y[test])))
                err_scaled.append(np.mean(np.abs(np.clip(intercept + slope * mean[test], 0, 1) - y[test])))
            rows.append({"domain": domain, "task": task, "seen_tasks": len(seen), "folds": len(folds),
                         "mae_regression": float(np.mean(err_model)), "mae_mean_of_domain": float(np.mean(err_base)),
                         "mae_scaled_mean": float(np.mean(err_scaled))})
    if not rows:
        raise ProbecastError("no domain has two or more tasks; leave-one-task-out needs seen tasks "
                             "(give more tasks or a --domains file)")
    out = pd.DataFrame(rows)
    out["regression_better"] = out["mae_regression"] < out["mae_mean_of_domain"]
    return out


def domain_summary(loto: pd.DataFrame) -> pd.DataFrame:
    """Per domain: tasks, mean MAE of both predictors, and how often the regression wins."""
    g = loto.groupby("domain")
    cols = ["mae_regression", "mae_mean_of_domain", "mae_scaled_mean"]
    out = pd.concat([g.size().rename("tasks"), g[cols].mean(), g["regression_better"].sum().rename("regression_wins")],
                    axis=1).reset_index()
    total = {"domain": "all", "tasks": len(loto), **loto[cols].mean().to_dict(),
             "regression_wins": int(loto["regression_better"].sum())}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def trajectories(sm: ScoreMatrix, task: str, run: str, config: LotoConfig | None = None) -> pd.DataFrame:
    """Actual, regression and baseline trajectories of `task` on `run` (the fold that holds `run` out)."""
    cfg = config or LotoConfig()
    seen = [t for t in sm.domain_tasks()[sm.domains[task]] if t != task]
    X, y = sm.scores[seen].to_numpy(), sm.scores[task].to_numpy()
    _, train, test = next(f for f in _splits(sm, cfg) if f[0] == run)
    return pd.DataFrame({"tokens": sm.index["tokens"].to_numpy()[test], "actual": y[test],
                         "regression": _ridge(X[train], y[train]).predict(X[test]),
                         "mean_of_domain": X[test].mean(axis=1)}).sort_values("tokens")
