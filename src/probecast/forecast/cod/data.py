"""Per-question results across a model series: the input of the COD forecaster.

COD needs, for every question, its pass rate on each small model of a series (same recipe, growing compute).
Two sources give that:

* the documented per-question CSV (or Parquet): columns `model, params, tokens, flops, task, question_id, n, c`,
  one row per model x question (`n` samples, `c` correct; `flops` may be empty, then C = 6·params·tokens);
* probecast workspaces (`W/checkpoints.json` + `W/labels/<ckpt>/<task>.parquet`): each workspace is one model
  of the series and contributes its *final* checkpoint's labels (the paper fits fully trained models of
  several sizes; intermediate checkpoints are mid-schedule and would bias the law). `points="all"` makes every
  labelled checkpoint its own point instead (more points, for series too short to fit a 3-parameter law).

`QuestionMatrix` is the clustering-ready view: pass rates (questions x models) with the models sorted by compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.ui import note

QUESTION_COLUMNS = ["model", "params", "tokens", "flops", "task", "question_id", "n", "c"]


@dataclass
class QuestionMatrix:
    """Pass rates of every question on every model of the series (models sorted by compute)."""

    task: str
    models: list[str]
    compute: np.ndarray      # (M,) training FLOPs per model
    question_ids: list[str]
    n: np.ndarray            # (Q, M) samples per question and model
    c: np.ndarray            # (Q, M) correct samples

    @property
    def pass_rate(self) -> np.ndarray:
        return self.c / self.n

    def task_score(self) -> np.ndarray:
        """The task's score per model: the mean over questions of the per-question pass rate."""
        return self.pass_rate.mean(axis=0)

    def smallest(self, k: int) -> "QuestionMatrix":
        """The series cut to its `k` smallest models (for leave-largest-models-out backtests)."""
        return QuestionMatrix(self.task, self.models[:k], self.compute[:k], self.question_ids, self.n[:, :k],
                              self.c[:, :k])

    def take(self, rows: np.ndarray) -> "QuestionMatrix":
        """A matrix over a subset (or a resample, with repeats) of the questions."""
        return QuestionMatrix(self.task, self.models, self.compute, [self.question_ids[i] for i in rows],
                              self.n[rows], self.c[rows])


# ---- validation ----------------------------------------------------------------------------------------------
def validate_question_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a per-question table; every error names `source`, the column and what to do."""
    missing = [col for col in QUESTION_COLUMNS if col not in df.columns]
    if missing:
        raise ProbecastError(f"{source}: missing column(s) {', '.join(missing)}; a per-question table needs "
                             f"{', '.join(QUESTION_COLUMNS)} (one row per model x question)")
    out = df[QUESTION_COLUMNS].copy()
    if out.empty:
        raise ProbecastError(f"{source}: the table has no rows")
    for col in ("model", "task", "question_id"):
        if out[col].isna().any():
            raise ProbecastError(f"{source}: column {col} has empty values; every row needs a {col}")
        out[col] = out[col].astype(str)
    for col in ("params", "tokens", "flops", "n", "c"):
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() & out[col].notna()
        if bad.any():
            raise ProbecastError(f"{source}: column {col} has non-numeric value {out.loc[bad, col].iloc[0]!r}")
        out[col] = values.astype(float)
    for col in ("n", "c"):
        if out[col].isna().any() or (out[col] != np.floor(out[col])).any():
            raise ProbecastError(f"{source}: column {col} must hold whole numbers on every row")
    if (out["n"] < 1).any():
        raise ProbecastError(f"{source}: column n must be >= 1 (samples per question)")
    bad = (out["c"] < 0) | (out["c"] > out["n"])
    if bad.any():
        row = out[bad].iloc[0]
        raise ProbecastError(f"{source}: c={row['c']:g} outside [0, n={row['n']:g}] for model {row['model']!r} "
                             f"question {row['question_id']!r}")
    out["flops"] = out["flops"].fillna(6.0 * out["params"] * out["tokens"])
    bad = ~(out["flops"] > 0) | ~np.isfinite(out["flops"])
    if bad.any():
        row = out[bad].iloc[0]
        raise ProbecastError(f"{source}: model {row['model']!r} has no positive compute; give flops > 0, or "
                             "params and tokens > 0 (flops = 6·params·tokens)")
    dup = out.duplicated(["model", "task", "question_id"], keep=False)
    if dup.any():
        row = out[dup].iloc[0]
        raise ProbecastError(f"{source}: model {row['model']!r} has question {row['question_id']!r} of task "
                             f"{row['task']!r} more than once; one row per model x question")
    per_model = out.groupby("model")["flops"].nunique()
    if (per_model > 1).any():
        raise ProbecastError(f"{source}: model {per_model[per_model > 1].index[0]!r} has several compute values; "
                             "one model is one (params, tokens, flops)")
    return out.reset_index(drop=True)


def question_matrix(df: pd.DataFrame, task: str, source: str = "table", min_models: int = 3) -> QuestionMatrix:
    """Pivot the rows of `task` into a QuestionMatrix, keeping the questions every model answered."""
    tasks = sorted(df["task"].unique())
    if task not in tasks:
        raise ProbecastError(f"{source}: task {task!r} not in the table; tasks present: {', '.join(tasks[:20])}")
    sub = df[df["task"] == task]
    compute = sub.groupby("model")["flops"].first().sort_values()
    if len(compute) < min_models:
        raise ProbecastError(f"{source}: task {task!r} has {len(compute)} model(s); COD needs at least "
                             f"{min_models} models of increasing compute to fit a curve per cluster")
    models = list(compute.index)
    n = sub.pivot(index="question_id", columns="model", values="n")[models]
    c = sub.pivot(index="question_id", columns="model", values="c")[models]
    complete = n.notna().all(axis=1)
    if not complete.any():
        raise ProbecastError(f"{source}: no question of task {task!r} was answered by every model; "
                             "the difficulty features need one pass rate per model")
    if not complete.all():
        note(f"{source}: task {task!r}: dropped {int((~complete).sum())} of {len(complete)} questions that not every "
             f"model answered (first: {str(complete[~complete].index[0])!r})")
    n, c = n[complete], c[complete]
    return QuestionMatrix(task, models, compute.to_numpy(float), [str(q) for q in n.index],
                          n.to_numpy(float), c.to_numpy(float))


# ---- readers -------------------------------------------------------------------------------------------------
def read_question_file(path: Path) -> pd.DataFrame:
    from probecast.stored import read_csv, read_parquet

    if path.suffix == ".parquet":
        df = read_parquet(path)
    elif path.suffix in (".csv", ".tsv", ".txt"):
        df = read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    else:
        raise ProbecastError(f"{path}: unsupported file type; give a per-question .csv/.parquet or a workspace")
    return validate_question_table(df, str(path))


def read_workspace(root: Path, task: str, points: str = "final") -> pd.DataFrame:
    """Per-question rows of one workspace: its final labelled checkpoint (or every one when points='all')."""
    ckpt_file = root / "checkpoints.json"
    if not ckpt_file.exists():
        raise ProbecastError(f"{root}: not a workspace (no checkpoints.json); give a workspace or a per-question CSV")
    from probecast.stored import read_parquet
    from probecast.workspace import Workspace

    ws = Workspace(root, create=False)
    records = [r for r in ws.read_checkpoints() if ws.has_labels(r["id"], task)]
    if not records:
        raise ProbecastError(f"{root}: no labels for task {task!r}; run `probecast label` for it first")
    if points == "final":
        records = records[-1:]
    elif points != "all":
        raise ProbecastError(f"points={points!r}: expected 'final' or 'all'")
    rows = []
    for rec in records:
        labels = read_parquet(ws.labels_path(rec["id"], task), columns=["question_id", "n", "c"])
        model = root.name if points == "final" else f"{root.name}@{rec['id']}"
        rows.append(labels.assign(model=model, params=rec.get("params"), tokens=rec.get("tokens"),
                                  flops=rec.get("flops"), task=task))
    return validate_question_table(pd.concat(rows, ignore_index=True), str(root))


def load_questions(paths: Iterable[str | Path], task: str, points: str = "final") -> pd.DataFrame:
    """Read per-question CSV/Parquet files and workspaces into one validated per-question table."""
    frames = []
    paths = [Path(p) for p in paths]
    if not paths:
        raise ProbecastError("--runs: give at least one per-question CSV or workspace")
    for path in paths:
        if not path.exists():
            raise ProbecastError(f"{path}: no such file or folder")
        frames.append(read_workspace(path, task, points) if path.is_dir() else read_question_file(path))
    df = pd.concat(frames, ignore_index=True)
    return validate_question_table(df, ", ".join(map(str, paths)))


def load_target_score(paths: Iterable[str | Path], task: str) -> float:
    """The observed task score of a held-out model (for reporting the error of a forecast)."""
    df = load_questions(paths, task, points="final")
    df = df[df["task"] == task]
    if df["model"].nunique() != 1:
        raise ProbecastError(f"--actual: expected one model, found {df['model'].nunique()}")
    return float((df["c"] / df["n"]).mean())
