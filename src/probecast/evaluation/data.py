"""What a workspace holds for the probes: which (checkpoint, task) have features / labels, loading them,
the per-checkpoint training loss and which tasks are multi-step.

Task and checkpoint names are read from the feature files' metadata (file names are only `safe_name`s).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.store import load_dataset
from probecast.workspace import Workspace


def feature_index(ws: Workspace) -> pd.DataFrame:
    """One row per feature file: checkpoint, task, step, has_labels; sorted by step."""
    from probecast.stored import open_safetensors

    rows = []
    for path in sorted((ws.root / "features").glob("*/*.safetensors")):
        with open_safetensors(path) as f:
            meta = f.metadata() or {}
        ckpt, task = meta.get("checkpoint"), meta.get("task")
        if ckpt is None or task is None:
            continue
        rows.append({"checkpoint": ckpt, "task": task, "step": int(meta.get("step", -1)),
                     "has_labels": ws.has_labels(ckpt, task)})
    df = pd.DataFrame(rows, columns=["checkpoint", "task", "step", "has_labels"])
    return df.sort_values(["step", "checkpoint", "task"]).reset_index(drop=True)


def select(index: pd.DataFrame, checkpoints: list[str] | None, tasks: list[str] | None,
           labelled: bool) -> pd.DataFrame:
    """Filter the feature index; clear errors when a named checkpoint/task has no features."""
    for name, values in (("checkpoint", checkpoints), ("task", tasks)):
        if values:
            unknown = sorted(set(values) - set(index[name]))
            if unknown:
                raise ProbecastError(f"--{name}s: no features for {unknown}; available: "
                                     f"{sorted(set(index[name]))} (run `probecast extract` first)")
            index = index[index[name].isin(values)]
    if labelled:
        index = index[index["has_labels"]]
    if index.empty:
        raise ProbecastError("no matching features" + (" with labels" if labelled else "") +
                             " in the workspace; run `probecast label` and `probecast extract` first")
    return index


def load_pairs(ws: Workspace, pairs: pd.DataFrame, labelled: bool,
               layers: tuple[int, ...] | None = None) -> tuple[FeatureSet, pd.DataFrame]:
    """Features (and labels) of the (checkpoint, task) rows of `pairs`, concatenated (`layers`: only those)."""
    parts, labels = [], []
    for ckpt, task in zip(pairs["checkpoint"], pairs["task"]):
        fs, lab = load_dataset(ws, [ckpt], [task], with_labels=labelled, layers=layers)
        parts.append(fs)
        labels.append(lab)
    X = FeatureSet.concat(parts)
    return X, (pd.concat(labels, ignore_index=True) if labelled else pd.DataFrame(index=range(len(X))))


def labelled_pairs(ws: Workspace) -> tuple[FeatureSet, pd.DataFrame]:
    """Features and labels of every (checkpoint, task) pair of the workspace that has both."""
    return load_pairs(ws, select(feature_index(ws), None, None, labelled=True), labelled=True)


def train_losses(ws: Workspace, path: str | Path | None = None) -> dict[int, float]:
    """{step: training loss}: from a JSON file {step: loss} when given, else from checkpoints.json records'
    `train_loss`, else from each checkpoint folder's `probecast_checkpoint.json` sidecar (written by the
    embedded run); empty when none has it."""
    if path is not None:
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
            return {int(k): float(v) for k, v in raw.items()}
        except (OSError, ValueError, AttributeError) as exc:
            raise ProbecastError(f"{path}: expected a JSON object {{step: loss}} ({exc})") from exc
    out = {}
    for r in ws.read_checkpoints():
        if r.get("step") is None:
            continue
        loss = r.get("train_loss")
        sidecar = Path(r.get("path") or "") / "probecast_checkpoint.json"
        if loss is None and r.get("path") and sidecar.is_file():
            try:
                loss = json.loads(sidecar.read_text()).get("train_loss")
            except (OSError, ValueError):
                loss = None
        if loss is not None:
            out[int(r["step"])] = float(loss)
    return out


def multistep_tasks(ws: Workspace, index: pd.DataFrame) -> list[str]:
    """Tasks flagged `multi_step`: by the task definitions the workspace remembers (W/tasks.json), else by
    the label metadata."""
    names = set(index["task"])
    try:
        from probecast.resolve import resolve_tasks

        return sorted(t.name for t in resolve_tasks(None, ws) if t.multi_step and t.name in names)
    except (ProbecastError, ImportError, AttributeError, OSError):
        pass
    out = set()
    for ckpt, task in zip(index["checkpoint"], index["task"]):
        if task in out or not ws.has_labels(ckpt, task):
            continue
        meta = ws.label_metadata(ckpt, task)
        if meta.get("multi_step") or (meta.get("task_info") or {}).get("multi_step"):
            out.add(task)
    return sorted(out)

