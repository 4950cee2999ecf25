"""The workspace: one folder holding every result of a probecast pipeline.

Layout (all files written atomically; a file that exists is complete, so every step is resumable):

    W/checkpoints.json                       checkpoints of the run(s) seen so far (id, path, step, tokens, flops, params)
    W/run/                                   the embedded training run (demo only)
    W/labels/<checkpoint>/<task>.parquet     generative labels, one row per question (schema: README)
    W/features/<checkpoint>/<task>.safetensors  pooled hidden states + answer log-likelihood per question
    W/probes/<name>/                         a fitted probe (config.json + weights)
    W/predictions/<checkpoint>/<task>.parquet per-question predicted pass@1 of a probe
    W/forecasts/                             forecaster outputs (JSON, plots)
    W/monitor/predictions.jsonl              in-training monitor log
    W/summary.json                           the evaluation summary (demo / evaluate)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import pandas as pd

from probecast.checkpoints.discover import blank_path
from probecast.errors import ProbecastError
from probecast.io import read_parquet_metadata, write_json_atomic, write_parquet_atomic
from probecast.stored import damaged, read_json, read_parquet

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_name(name: str) -> str:
    """A file-name-safe form of a checkpoint or task name (task files may be paths like data/x.jsonl)."""
    return _SAFE.sub("_", name).strip("_") or "_"


class Workspace:
    def __init__(self, root: str | Path, create: bool = True) -> None:
        """`create=True`: the folder may be new; it appears with the first result written (so a command stopped by
        bad input leaves no empty workspace behind). `create=False`: it must exist."""
        self.root = Path(root)
        if not create and not self.root.is_dir():
            raise ProbecastError(f"workspace {self.root} does not exist; create it with `probecast label ... --ws {self.root}`")

    # ---- paths ---------------------------------------------------------------------------------------------
    @property
    def checkpoints_file(self) -> Path:
        return self.root / "checkpoints.json"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    def labels_path(self, checkpoint: str, task: str) -> Path:
        return self.root / "labels" / safe_name(checkpoint) / f"{safe_name(task)}.parquet"

    def features_path(self, checkpoint: str, task: str) -> Path:
        return self.root / "features" / safe_name(checkpoint) / f"{safe_name(task)}.safetensors"

    def probe_dir(self, name: str) -> Path:
        return self.root / "probes" / safe_name(name)

    def predictions_path(self, checkpoint: str, task: str, probe: str) -> Path:
        return self.root / "predictions" / safe_name(probe) / safe_name(checkpoint) / f"{safe_name(task)}.parquet"

    @property
    def forecasts_dir(self) -> Path:
        return self.root / "forecasts"

    @property
    def monitor_dir(self) -> Path:
        return self.root / "monitor"

    @property
    def summary_file(self) -> Path:
        return self.root / "summary.json"

    def read_summary(self) -> dict:
        """W/summary.json, or {} before anything has written it."""
        return read_json(self.summary_file, dict) if self.summary_file.exists() else {}

    # ---- checkpoints index ---------------------------------------------------------------------------------
    def read_checkpoints(self) -> list[dict]:
        return _records(self.checkpoints_file, "checkpoints", "id")

    def add_checkpoints(self, records: Iterable[dict]) -> None:
        """Merge checkpoint records (by id) into checkpoints.json, kept sorted by step. A record without a path is
        refused (nothing is written): loading it would load whatever the current folder holds."""
        by_id = {r["id"]: r for r in self.read_checkpoints()}
        for r in list(records):
            if blank_path(r.get("path")):
                raise ProbecastError(f"{self.checkpoints_file}: checkpoint {r.get('id')!r} has no path; record it "
                                     f"with its folder, file or hub id")
            by_id[r["id"]] = r
        ordered = sorted(by_id.values(), key=lambda r: (r.get("step") is None, r.get("step") or 0, r["id"]))
        write_json_atomic(self.checkpoints_file, ordered)

    # ---- labels --------------------------------------------------------------------------------------------
    def write_labels(self, checkpoint: str, task: str, df: pd.DataFrame, metadata: dict) -> None:
        write_parquet_atomic(self.labels_path(checkpoint, task), df, metadata)

    def has_labels(self, checkpoint: str, task: str) -> bool:
        return self.labels_path(checkpoint, task).exists()

    def read_labels(self, checkpoints: Iterable[str] | None = None, tasks: Iterable[str] | None = None) -> pd.DataFrame:
        """All label rows (optionally filtered), concatenated; empty frame when there are none."""
        files = sorted((self.root / "labels").glob("*/*.parquet"))
        frames = [read_parquet(f) for f in files]
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        if checkpoints is not None:
            df = df[df["checkpoint"].isin(list(checkpoints))]
        if tasks is not None:
            df = df[df["task"].isin(list(tasks))]
        return df.reset_index(drop=True)

    def label_metadata(self, checkpoint: str, task: str) -> dict:
        return read_parquet_metadata(self.labels_path(checkpoint, task))

    # ---- task spec -----------------------------------------------------------------------------------------
    @property
    def tasks_file(self) -> Path:
        return self.root / "tasks.json"

    def remember_tasks(self, spec: str, limit: int | None, task: str | None = None) -> None:
        """Remember which task (and question subset) the labels used, so later steps use the same prompts: one
        entry per task name (`task`), replaced when it is remembered again; without `task`, one per spec."""
        entry = {"task": task, "spec": spec, "limit": limit} if task else {"spec": spec, "limit": limit}
        key = (lambda e: e.get("task")) if task else (lambda e: ("spec", e.get("spec")) if "task" not in e else None)
        specs = self.task_specs()
        same = [i for i, e in enumerate(specs) if key(e) == key(entry)]
        if same and specs[same[0]] == entry:
            return
        if same:
            specs[same[0]] = entry
        else:
            specs.append(entry)
        write_json_atomic(self.tasks_file, specs)

    def task_specs(self) -> list[dict]:
        return _records(self.tasks_file, "tasks", "spec")


def _records(path: Path, what: str, key: str) -> list[dict]:
    """A workspace index (a JSON list of objects, each with `key`); [] when it is not there yet."""
    if not path.exists():
        return []
    records = read_json(path, list)
    if not all(isinstance(r, dict) and key in r for r in records):
        raise damaged(path, what, f"every entry must be an object with a \"{key}\"")
    return records
