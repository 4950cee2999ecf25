"""Per-checkpoint task scores as a matrix: one row per run x checkpoint, one column per task.

Read through the forecasters' long table (`probecast.forecast.table.load_runs`), so every format it reads
(Pythia folders, OLMo-ladder CSVs, lm-eval sweeps, long tables, workspaces) works here. A task is kept when
it has a score at every checkpoint of every run (the analyses compare tasks on the same checkpoints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.dynamics.domains import domain_of
from probecast.errors import ProbecastError


@dataclass
class ScoreMatrix:
    index: pd.DataFrame      # run, step, tokens per row
    scores: pd.DataFrame     # rows aligned with index, one column per task
    domains: dict[str, str]  # task -> domain

    @property
    def tasks(self) -> list[str]:
        return list(self.scores.columns)

    @property
    def runs(self) -> list[str]:
        return list(dict.fromkeys(self.index["run"]))

    def rows_of(self, run: str) -> np.ndarray:
        return np.flatnonzero(self.index["run"].to_numpy() == run)

    def domain_tasks(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for task in self.tasks:
            out.setdefault(self.domains[task], []).append(task)
        return dict(sorted(out.items()))


def score_matrix(long: pd.DataFrame, metric: str = "acc", overrides: dict[str, str] | None = None,
                 min_checkpoints: int = 4) -> ScoreMatrix:
    """Pivot `metric/<task>` rows of a long table into a ScoreMatrix (tasks complete on every checkpoint)."""
    prefix = metric + "/"
    sub = long[long["metric"].str.startswith(prefix)]
    if sub.empty:
        kinds = sorted({m.split("/", 1)[0] for m in long["metric"]})
        raise ProbecastError(f"--metric {metric}: no {prefix}<task> scores in the runs; metrics present: "
                             f"{', '.join(kinds)}")
    wide = sub.pivot_table(index=["run", "step"], columns="metric", values="value", aggfunc="first")
    wide = wide.dropna(axis=1, how="any")
    if wide.shape[1] < 2:
        raise ProbecastError(f"--metric {metric}: fewer than 2 tasks are scored at every checkpoint of every run; "
                             "the dynamics compare tasks, give runs evaluated on the same tasks")
    counts = wide.groupby(level="run").size()
    short = counts[counts < min_checkpoints]
    if len(short) == len(counts):
        raise ProbecastError(f"every run has fewer than {min_checkpoints} checkpoints; the dynamics need trajectories")
    wide = wide[~wide.index.get_level_values("run").isin(short.index)]
    tokens = sub.groupby(["run", "step"])["tokens"].first()
    index = wide.index.to_frame(index=False)
    index["tokens"] = tokens.reindex(wide.index).to_numpy()
    if index["tokens"].isna().any():  # unknown tokens: fall back to the step (the order is what matters)
        index["tokens"] = index["tokens"].fillna(index["step"].astype(float))
    scores = wide.reset_index(drop=True)
    scores.columns = [c[len(prefix):] for c in scores.columns]
    domains = {t: domain_of(t, overrides) for t in scores.columns}
    return ScoreMatrix(index, scores, domains)
