"""`probecast predict`: per-question P(success) for checkpoints with features, and the task score.

Writes W/predictions/<probe>/<checkpoint>/<task>.parquet (checkpoint, step, task, question_id, p_success)
with the probe's fingerprint in the metadata; a file made by the same fitted probe is reused, so the step is
resumable and a refitted probe is never served stale predictions. The task score is the mean predicted
pass@1 with a percentile bootstrap interval over questions, widened by the probe's task-score error measured by
`probecast evaluate` when there is one (`evaluation/interval.py`); when labels exist, the actual score is shown.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.io import read_parquet_metadata, write_parquet_atomic
from probecast.stored import read_parquet
from probecast.probes.base import Probe, load_probe
from probecast.evaluation.data import feature_index, load_pairs, select
from probecast.evaluation.interval import probe_score_errors, task_score_interval
from probecast.ui import track
from probecast.workspace import Workspace


def resolve_probe(ws: Workspace, probe: str) -> tuple[str, Path]:
    """A probe given by name (W/probes/<name>) or by a directory path -> (name, directory)."""
    d = ws.probe_dir(probe)
    if (d / "config.json").exists():
        return probe, d
    if (Path(probe) / "config.json").exists():
        return Path(probe).name, Path(probe)
    fitted = sorted(p.parent.name for p in (ws.root / "probes").glob("*/config.json"))
    raise ProbecastError(f"--probe {probe!r}: no fitted probe in {d}; fitted here: {fitted or 'none'} "
                         f"(run `probecast fit` or `probecast evaluate` first)")


def fingerprint(directory: Path) -> str:
    h = hashlib.sha1()
    for name in ("config.json", "weights.safetensors"):
        h.update((directory / name).read_bytes())
    return h.hexdigest()[:16]


def predict(ws: Workspace, probe: str, checkpoints: list[str] | None = None, tasks: list[str] | None = None,
            n_boot: int = 1000, seed: int = 0, show_progress: bool = True) -> pd.DataFrame:
    """Predict every selected (checkpoint, task); returns the task table (one row per checkpoint × task)."""
    name, directory = resolve_probe(ws, probe)
    model: Probe = load_probe(directory)
    fp = fingerprint(directory)
    pairs = select(feature_index(ws), checkpoints, tasks, labelled=False)
    errors = probe_score_errors(ws, name)
    rows, writes = [], []
    for _, pair in track(list(pairs.iterrows()), f"predict {name}", show=show_progress):
        path = ws.predictions_path(pair["checkpoint"], pair["task"], name)
        if path.exists() and read_parquet_metadata(path).get("probe_fingerprint") == fp:
            df = read_parquet(path)
        else:
            X, _ = load_pairs(ws, pair.to_frame().T, labelled=False, layers=model.reads_.layers)  # only those read
            df = pd.DataFrame({"checkpoint": X.checkpoint.astype(str), "step": X.step.astype(int),
                               "task": X.task.astype(str), "question_id": X.question_ids.astype(str),
                               "p_success": model.predict_proba(X)})
            writes.append((path, df))
        rows.append(task_row(ws, df, pair, n_boot, seed, errors.get(str(pair["task"]))))
    for path, df in writes:  # after every features file was read and checked: bad input changes nothing
        write_parquet_atomic(path, df, {"probe": name, "probe_fingerprint": fp, "probe_dir": str(directory)})
    return pd.DataFrame(rows)


def task_row(ws: Workspace, df: pd.DataFrame, pair: pd.Series, n_boot: int, seed: int,
             score_error: float | None = None) -> dict:
    p = df["p_success"].to_numpy()
    lo, hi, covers = task_score_interval(p, score_error, n_boot=n_boot, seed=seed)
    row = {"checkpoint": pair["checkpoint"], "step": int(pair["step"]), "task": pair["task"],
           "n_questions": len(df), "score": float(p.mean()), "lo": lo, "hi": hi, "actual": np.nan,
           "interval": covers}
    if pair["has_labels"]:
        lab = read_parquet(ws.labels_path(pair["checkpoint"], pair["task"]), columns=["question_id", "pass1"])
        actual = lab.set_index("question_id")["pass1"].reindex(df["question_id"]).dropna()
        row["actual"] = float(actual.mean()) if len(actual) else np.nan
    return row


def print_table(table: pd.DataFrame, title: str) -> None:
    from probecast.ui import console
    from rich.table import Table

    ppi = "ppi_estimate" in table.columns
    t = Table(title=title)
    cols = ["checkpoint", "step", "task", "questions", "predicted pass@1", "95% interval"]
    cols += ["labels", "PPI pass@1", "PPI interval", "λ", "worth labels"] if ppi else []
    for col in cols + ["actual"]:
        t.add_column(col, justify="right" if col not in ("checkpoint", "task") else "left")
    for r in table.itertuples():
        extra = [str(r.ppi_n_labels), f"{r.ppi_estimate:.3f}", f"[{r.ppi_lo:.3f}, {r.ppi_hi:.3f}]",
                 f"{r.ppi_lam:.2f}", f"{r.ppi_effective_labels:.0f}"] if ppi else []
        t.add_row(str(r.checkpoint), str(r.step), str(r.task), str(r.n_questions), f"{r.score:.3f}",
                  f"[{r.lo:.3f}, {r.hi:.3f}]", *extra, "-" if np.isnan(r.actual) else f"{r.actual:.3f}")
    console().print(t)
