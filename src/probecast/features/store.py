"""Save and load extracted features as safetensors, and join them with labels into a `FeatureSet`.

File: W/features/<checkpoint>/<task>.safetensors. Tensors: `hidden_last`, `hidden_mean` [n, L, D],
optional `hidden_answer`, `hidden_others` (multiple choice) [n, L, D], `tail` [n, T, D] + `tail_mask` [n, T],
`answer_loglik`, `answer_loglik_mean`, `answer_loglik_paths` [n], `next_token` [n, 3].
Metadata (str → str): `question_ids` (JSON list), `checkpoint`, `step`, `task`, `fingerprint`, `settings`
(JSON), `wall_time_s`, `prompts` and `questions` (JSON lists).
"""

from __future__ import annotations

import json
from typing import Iterable

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.stored import open_safetensors, read_parquet
from probecast.features.featureset import FeatureSet
from probecast.io import atomic_path
from probecast.workspace import Workspace

POOLED_ARRAYS = ("hidden_last", "hidden_mean", "hidden_answer", "hidden_others")  # [n, L, D]: one slice per layer
ARRAY_KEYS = (*POOLED_ARRAYS, "tail", "tail_mask", "answer_loglik", "answer_loglik_mean", "answer_loglik_paths",
              "next_token")


def save_features(ws: Workspace, checkpoint: str, step: int, task: str, question_ids: list[str],
                  arrays: dict[str, np.ndarray], metadata: dict) -> None:
    from safetensors.numpy import save_file

    tensors = {k: np.ascontiguousarray(v) for k, v in arrays.items() if v is not None}
    meta = {"question_ids": json.dumps(list(question_ids)), "checkpoint": checkpoint, "step": str(step),
            "task": task}
    for k, v in metadata.items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    with atomic_path(ws.features_path(checkpoint, task)) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def read_features_metadata(ws: Workspace, checkpoint: str, task: str) -> dict:
    path = ws.features_path(checkpoint, task)
    with open_safetensors(path) as f:
        return dict(f.metadata() or {})


def load_features(ws: Workspace, checkpoint: str, task: str, dtype=np.float32,
                  layers: tuple[int, ...] | None = None) -> FeatureSet:
    """One (checkpoint, task) block as a FeatureSet (hidden states cast to `dtype`); `layers` = read only those
    positions of the layer axis from disk (what a fitted probe reads, `Probe.reads_`; FeatureSet.layer_ids)."""
    path = ws.features_path(checkpoint, task)
    if not path.exists():
        raise ProbecastError(f"no features for checkpoint {checkpoint!r}, task {task!r} in {ws.root}: "
                             f"run `probecast extract --ws {ws.root}` first")
    with open_safetensors(path) as f:
        meta = f.metadata() or {}
        arrays = {k: f.get_tensor(k) for k in f.keys() if layers is None or k not in POOLED_ARRAYS}
        for k in ([] if layers is None else [k for k in POOLED_ARRAYS if k in f.keys()]):
            sl = f.get_slice(k)
            n_layers = sl.get_shape()[1]
            if any(not 0 <= l < n_layers for l in layers):
                raise ProbecastError(f"{path}: the probe reads layers {list(layers)} but these features have "
                                     f"{n_layers}; extract with the same layer settings as the training features")
            arrays[k] = np.concatenate([sl[:, l:l + 1] for l in layers], axis=1) if layers else \
                np.zeros((sl.get_shape()[0], 0, sl.get_shape()[2]), np.float32)
    qids = np.array(json.loads(meta["question_ids"]), dtype=object)
    n = len(qids)
    check_finite(path, arrays, n)
    for k in (*POOLED_ARRAYS, "tail"):
        if k in arrays:
            arrays[k] = arrays[k].astype(dtype, copy=False)
    return FeatureSet(
        question_ids=qids,
        task=np.array([task] * n, dtype=object),
        checkpoint=np.array([checkpoint] * n, dtype=object),
        step=np.full(n, int(meta.get("step", -1)), dtype=np.int64),
        hidden_last=arrays["hidden_last"],
        hidden_mean=arrays.get("hidden_mean"),
        hidden_answer=arrays.get("hidden_answer"),
        hidden_others=arrays.get("hidden_others"),
        tail=arrays.get("tail"),
        tail_mask=arrays.get("tail_mask").astype(bool) if "tail_mask" in arrays else None,
        answer_loglik=arrays.get("answer_loglik"),
        answer_loglik_mean=arrays.get("answer_loglik_mean"),
        answer_loglik_paths=arrays.get("answer_loglik_paths"),
        next_token=arrays.get("next_token"),
        text=_question_texts(meta),
        multiple_choice=np.full(n, meta["multiple_choice"] == "true") if "multiple_choice" in meta else None,
        layer_ids=None if layers is None else tuple(int(l) for l in layers),
    )


def check_finite(path, arrays: dict[str, np.ndarray], n: int) -> None:
    """Refuse a features file with NaN/Inf values: they would turn into a `nan` task score or silently shifted
    metrics downstream. Names the file, the arrays and how many of its n rows are affected."""
    bad_rows = np.zeros(n, dtype=bool)
    where = []
    for k, a in arrays.items():
        if a.dtype.kind != "f" or a.shape[:1] != (n,):
            continue
        rows = ~np.isfinite(a.reshape(n, -1)).all(axis=1)
        if rows.any():
            where.append(f"{k} ({int(rows.sum())})")
            bad_rows |= rows
    if bad_rows.any():
        first = int(np.flatnonzero(bad_rows)[0])
        raise ProbecastError(f"{path}: {int(bad_rows.sum())} of {n} rows have NaN/Inf values (in {', '.join(where)}; "
                             f"first row {first}); delete the file and rerun `probecast extract` (with --store-dtype "
                             f"float32 if float16 overflowed)")


def _question_texts(meta: dict) -> np.ndarray | None:
    """The question text of each row for text-only baselines (the prompts, few-shot examples and all, in features
    written before question texts were stored)."""
    key = "questions" if "questions" in meta else "prompts" if "prompts" in meta else None
    return np.array(json.loads(meta[key]), dtype=object) if key else None


def progress_of(step: np.ndarray, max_step: float) -> np.ndarray:
    """Training progress feature: log(1+step)/log(1+max_step), so early log-spaced checkpoints stay apart."""
    return np.log1p(np.asarray(step, dtype=np.float64)) / np.log1p(max(float(max_step), 1.0))


def load_dataset(ws: Workspace, checkpoints: Iterable[str], tasks: Iterable[str],
                 with_labels: bool = True, max_step: float | None = None,
                 layers: tuple[int, ...] | None = None) -> tuple[FeatureSet, pd.DataFrame]:
    """Features of checkpoints × tasks with their label rows aligned row by row.

    Returns (features, labels) where labels has the workspace label columns (empty frame when
    `with_labels=False`). Rows whose question has no label are dropped so both sides align.
    `progress` is filled from the step, scaled by `max_step` (default: the last checkpoint in the workspace).
    """
    parts, label_parts = [], []
    if max_step is None:
        steps = [r.get("step") or 0 for r in ws.read_checkpoints()]
        max_step = max(steps) if steps else 1
    for ckpt in checkpoints:
        for task in tasks:
            fs = load_features(ws, ckpt, task, layers=layers)
            if with_labels:
                if not ws.has_labels(ckpt, task):
                    raise ProbecastError(f"no labels for checkpoint {ckpt!r}, task {task!r} in {ws.root}: "
                                         f"run `probecast label --ws {ws.root}` first")
                lab = read_parquet(ws.labels_path(ckpt, task)).set_index("question_id")
                keep = np.array([q in lab.index for q in fs.question_ids])
                fs = fs.subset(keep)
                label_parts.append(lab.loc[list(fs.question_ids)].reset_index())
            fs.progress = progress_of(fs.step, max_step)
            parts.append(fs)
    features = FeatureSet.concat(parts)
    labels = pd.concat(label_parts, ignore_index=True) if label_parts else pd.DataFrame()
    return features, labels
