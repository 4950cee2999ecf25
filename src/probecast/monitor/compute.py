"""The model-side half of a monitor evaluation: what runs where the model is (this process, or a Ray worker).

`compute_evaluation` takes a model and returns everything the evaluation produced — one record per task, the
features and per-question predictions to store, the audit rows — and writes nothing: the caller (`Monitor.record`)
is the one writer of the workspace, the log and the trackers. `evaluate_checkpoint` loads a checkpoint first
(what `probecast watch` dispatches, one call per checkpoint). `MonitorSpec` is all a worker needs, picklable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.extract import ExtractConfig, extract_task
from probecast.features.in_memory import featureset_from_arrays
from probecast.monitor.audit import AuditConfig, audit_task, open_audit_backend
from probecast.evaluation.interval import task_score_interval


@dataclass(frozen=True)
class MonitorSpec:
    probe: Any  # a fitted probe
    probe_name: str
    tasks: tuple
    extract_cfg: ExtractConfig
    score_errors: dict  # task -> the probe's measured task-score error ({} without an evaluation)
    n_boot: int = 1000
    seed: int = 0
    audit: AuditConfig = field(default_factory=AuditConfig)
    keep_arrays: bool = False  # return the features too (to be stored)
    layer_ids: tuple | None = None  # the hidden_states indices extract_cfg keeps (None: all), see features/plan.py
    version: str = ""  # the probe version predicting (a refit on drift makes a new one; default: probe_name)
    shared_prefix: bool = True  # checkpoints loaded from disk: blocks identical across them run once


@dataclass
class Evaluation:
    records: list[dict]  # one per task, without the evaluation-wide fields (eval_id, time, ...)
    arrays: list[dict | None]  # per task: the features (keep_arrays) else None
    p_success: list[np.ndarray]
    audit_rows: list[Any]  # per task: a DataFrame of audited questions, or None
    fingerprint: str  # of the model
    compute_s: float
    load_s: float = 0.0


def compute_evaluation(spec: MonitorSpec, model, tokenizer, step: int, checkpoint: str, source: str,
                       do_audit: bool, path: str | None = None, shared_prefix: bool = False) -> Evaluation:
    """`path`: the checkpoint folder, for an audit backend that starts its own engine (vLLM). `shared_prefix`:
    a model loaded from a checkpoint (never a live model trained in place) replays the blocks it shares with an
    earlier checkpoint this process evaluated (`features/shared_prefix.py`; the same features)."""
    from probecast.checkpoints.load import fingerprint
    from probecast.features.shared_prefix import process_states

    t0 = time.perf_counter()
    was_training = model.training
    model.eval()
    ev = Evaluation([], [], [], [], fingerprint(model, tokenizer), 0.0)
    audit_backend = open_audit_backend(spec.audit, checkpoint, step, path) if do_audit else None
    try:
        for task in spec.tasks:
            t_task = time.perf_counter()
            prefix = process_states().plan_extraction(model, task, spec.extract_cfg) if shared_prefix else None
            arrays, prefill_s = extract_task(model, tokenizer, task, spec.extract_cfg, prefix=prefix)
            p = spec.probe.predict_proba(featureset_from_arrays(task, checkpoint, step, arrays,
                                                                layer_ids=spec.layer_ids))
            lo, hi, covers = task_score_interval(p, spec.score_errors.get(task.name), n_boot=spec.n_boot,
                                                 seed=spec.seed)
            rec = {"checkpoint": checkpoint, "step": int(step), "task": task.name, "pred_pass1": float(p.mean()),
                   "pred_pass1_lo": lo, "pred_pass1_hi": hi, "interval": covers,
                   "latency_s": time.perf_counter() - t_task, "prefill_s": prefill_s, "n_questions": len(p),
                   "probe": spec.probe_name, "probe_version": spec.version or spec.probe_name, "source": source}
            rows = None
            if do_audit:
                result, rows = audit_task(model, tokenizer, task, p, checkpoint, step, spec.audit,
                                          backend=audit_backend)
                rec.update(result)
            ev.records.append(rec)
            ev.arrays.append(arrays if spec.keep_arrays else None)
            ev.p_success.append(p)
            ev.audit_rows.append(rows)
    finally:
        if audit_backend is not None:
            audit_backend.close()
        if was_training:
            model.train()
    ev.compute_s = time.perf_counter() - t0
    return ev


def evaluate_checkpoint(spec: MonitorSpec, ckpt, step: int, checkpoint: str, do_audit: bool) -> Evaluation:
    """Load `ckpt` and evaluate it (a checkpoint that cannot be loaded raises a ProbecastError saying so)."""
    from probecast.checkpoints.load import free_model, load_model
    from probecast.runtime import device

    t0 = time.perf_counter()
    try:
        model, tokenizer = load_model(ckpt, device=device())
    except (ProbecastError, OSError) as exc:
        raise ProbecastError(f"cannot be read ({exc})") from exc
    load_s = time.perf_counter() - t0
    try:
        ev = compute_evaluation(spec, model, tokenizer, step, checkpoint, "watch", do_audit, path=ckpt.path,
                                shared_prefix=spec.shared_prefix)
    finally:
        free_model(model)
    ev.load_s = load_s
    return ev
