"""Refit a drifting probe on every label the workspace has, and keep each version beside the old ones.

The labels: every (checkpoint, task) of W/labels/ that has features, plus every monitor audit
(W/monitor/audit/<checkpoint>/<task>.parquet, the audited questions only) whose checkpoint has features
(the watcher stores them) and no full labels. The new probe has the old one's kind and parameters and is saved
as W/probes/<base>-refit<k>/ (k = 1, 2, ...) with `refit.json` (what it was fitted on); the old version is
never touched, so a report or a rerun can still read it.

`RefitLog` is the monitor's memory of which version is active, the drift test's state and the refit events
(W/monitor/refit/<probe>.json, atomic), and appends every event to W/monitor/events.jsonl.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.store import load_dataset
from probecast.io import write_json_atomic
from probecast.probes.base import Probe, make_probe
from probecast.stored import read_json, read_parquet
from probecast.workspace import Workspace, safe_name


def audit_rows(ws: Workspace) -> list[tuple[str, str, pd.DataFrame]]:
    """(checkpoint, task, audit labels) of every stored audit."""
    out = []
    for path in sorted((ws.monitor_dir / "audit").glob("*/*.parquet")):
        df = read_parquet(path)
        if df.empty or not {"checkpoint", "task", "question_id", "pass1"} <= set(df.columns):
            continue
        out.append((str(df["checkpoint"].iloc[0]), str(df["task"].iloc[0]), df))
    return out


def training_data(ws: Workspace) -> tuple[FeatureSet, np.ndarray, dict]:
    """Features and soft targets of every label the workspace has (full labels + audits); and a summary."""
    from probecast.evaluation.data import feature_index

    index = feature_index(ws)
    have = set(zip(index["checkpoint"], index["task"]))
    parts, targets = [], []
    full = index[index["has_labels"]]
    for ckpt, task in zip(full["checkpoint"], full["task"]):
        fs, lab = load_dataset(ws, [ckpt], [task], with_labels=True)
        parts.append(fs)
        targets.append(lab["pass1"].to_numpy(float))
    n_full = sum(len(p) for p in parts)
    audited = []
    for ckpt, task, df in audit_rows(ws):
        if (ckpt, task) not in have or ws.has_labels(ckpt, task):
            continue
        fs, _ = load_dataset(ws, [ckpt], [task], with_labels=False)
        y = df.drop_duplicates("question_id").set_index("question_id")["pass1"]
        keep = np.array([q in y.index for q in fs.question_ids])
        if not keep.any():
            continue
        fs = fs.subset(np.flatnonzero(keep))
        parts.append(fs)
        targets.append(y.loc[list(fs.question_ids)].to_numpy(float))
        audited.append(ckpt)
    if not parts:
        raise ProbecastError(f"{ws.root}: no labels with features to refit the probe on")
    X = FeatureSet.concat(parts)
    info = {"rows": len(X), "label_rows": n_full, "audit_rows": len(X) - n_full,
            "labelled_checkpoints": sorted(set(full["checkpoint"])), "audited_checkpoints": sorted(set(audited))}
    return X, np.concatenate(targets), info


def next_version(ws: Workspace, name: str) -> str:
    base = re.sub(r"-refit\d+$", "", name)
    k = 1
    while (ws.probe_dir(f"{base}-refit{k}") / "config.json").exists():
        k += 1
    return f"{base}-refit{k}"


def refit_probe(ws: Workspace, current: Probe, current_name: str) -> tuple[str, Path, Probe, dict]:
    """Fit a new version of `current` (same kind and parameters) on every label; returns
    (version name, directory, fitted probe, what it was fitted on)."""
    X, y, info = training_data(ws)
    t0 = time.perf_counter()
    model = make_probe(current.name, **current.get_params()).fit(X, y)
    name = next_version(ws, current_name)
    directory = model.save(ws.probe_dir(name))
    info = {**info, "refit_of": current_name, "kind": current.name, "fit_seconds": time.perf_counter() - t0}
    write_json_atomic(directory / "refit.json", info)
    return name, directory, model, info


def events_path(ws: Workspace) -> Path:
    return ws.monitor_dir / "events.jsonl"


def append_event(ws: Workspace, event: dict) -> None:
    """One line in W/monitor/events.jsonl, appended in a single fsync'ed write."""
    path = events_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(event) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class RefitLog:
    """W/monitor/refit/<probe>.json: {"active": version, "cusum": drift state, "refits": [events]}."""

    def __init__(self, ws: Workspace, probe: str) -> None:
        self.path = ws.monitor_dir / "refit" / f"{safe_name(probe)}.json"
        self.data = read_json(self.path, dict) if self.path.exists() else {"active": probe, "refits": []}

    @property
    def active(self) -> str:
        return self.data["active"]

    def save(self) -> None:
        write_json_atomic(self.path, self.data)
