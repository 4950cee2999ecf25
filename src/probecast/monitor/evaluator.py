"""`Monitor`: evaluate an in-memory model with a fitted probe and log predicted task scores.

Shared by the watcher (a checkpoint loaded from disk) and the training callbacks (the live model, no reload).
Per task: one prefill pass (`extract_task`) with the extraction settings the probe's training features were
made with, narrowed to what the probe reads (`Probe.reads_`, recorded at fit: its layers, the answer pass only
when it reads the likelihood, the listed alternative paths only when it reads them; `features/plan.py`) unless
the features are saved, which keeps everything `probecast extract` keeps -> the probe's P(success) per question -> task score = mean, with a percentile bootstrap interval
over questions, widened by the probe's measured task-score error when `probecast evaluate` measured one
(`evaluation/interval.py`) -> one record per task to every sink. Optionally every Mth evaluation is audited by real
generative labelling of a small random subset (`audit.py`): the record then also carries the prediction-powered
estimate and interval (`ppi_*`). With `refit_on_drift`, each audit feeds a CUSUM on the audit residuals
(`drift.py`); when it fires the probe is refitted on every label (`refit.py`), saved as a new version and used
from the next evaluation on (records say which version made them: `probe_version`).

The model-side half (`compute.py`) writes nothing and may run on a Ray worker; `Monitor.record` is the one writer.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.evaluation.interval import probe_score_errors
from probecast.features.extract import ExtractConfig
from probecast.features.plan import plan_extraction
from probecast.io import write_parquet_atomic
from probecast.monitor.audit import AuditConfig
from probecast.monitor.compute import Evaluation, MonitorSpec, compute_evaluation
from probecast.monitor.drift import CusumDrift, CusumState, DriftConfig
from probecast.monitor.refit import RefitLog, append_event, refit_probe
from probecast.monitor.sinks import make_sinks, metrics_of
from probecast.monitor.trackers import metric_name
from probecast.probes.base import load_probe
from probecast.workspace import Workspace, safe_name


@dataclass
class MonitorConfig:
    probe: str  # a fitted probe: its name in W/probes/ or a probe directory
    tasks: str | None = None  # task spec; None = the tasks the workspace remembers (W/tasks.json)
    limit: int | None = None  # questions per task when `tasks` is given
    sinks: tuple[str, ...] = ("tensorboard",)  # JSONL is always on; "auto" = every installed tracker
    run_name: str = "run"
    n_boot: int = 1000
    seed: int = 0
    save_features: bool = False  # also store features + per-question predictions in the workspace
    audit: AuditConfig = field(default_factory=AuditConfig)
    batch_size: int | None = None  # prefill batch size (default: the one the probe's features used)
    refit_on_drift: bool = False  # audits feed a drift test; when it fires, refit the probe (needs save_features)
    drift: DriftConfig = field(default_factory=DriftConfig)
    shared_prefix: bool = True  # the watcher: blocks identical across checkpoints run once (features/shared_prefix.py)


def workspace_extract_config(ws: Workspace, batch_size: int | None = None) -> ExtractConfig:
    """The extraction settings of the workspace's features (what the probes were fitted on)."""
    from probecast.stored import open_safetensors

    for path in sorted((ws.root / "features").glob("*/*.safetensors")):
        with open_safetensors(path) as f:
            raw = (f.metadata() or {}).get("settings")
        if raw:
            settings = json.loads(raw)
            if settings.get("layers") is not None:
                settings["layers"] = tuple(settings["layers"])
            cfg = ExtractConfig(**{k: v for k, v in settings.items() if k in ExtractConfig.__dataclass_fields__})
            return cfg if batch_size is None else ExtractConfig(**{**cfg.to_dict(), "batch_size": batch_size})
    raise ProbecastError(f"{ws.root / 'features'}: no extracted features, so the probe's extraction settings are "
                         f"unknown; run `probecast extract --ws {ws.root}` (and fit a probe) first")


class Monitor:
    """Holds the fitted probe, the tasks and the sinks across evaluations (one per checkpoint / step)."""

    def __init__(self, ws: str | Path | Workspace, cfg: MonitorConfig) -> None:
        from probecast.evaluation.predict import resolve_probe
        from probecast.resolve import resolve_tasks

        self.ws = ws if isinstance(ws, Workspace) else Workspace(ws, create=False)
        self.cfg = cfg
        if cfg.refit_on_drift and not (cfg.save_features and cfg.audit.every > 0):
            raise ProbecastError("--refit-on-drift needs audits (--audit-every M > 0) and stored features")
        self.probe_name, probe_dir = resolve_probe(self.ws, cfg.probe)
        self.refits = RefitLog(self.ws, self.probe_name)  # the active version survives a restart
        self.drift = CusumDrift(cfg.drift, CusumState.from_dict(self.refits.data.get("cusum")))
        self._use(self.refits.active if cfg.refit_on_drift else self.probe_name,
                  self.ws.probe_dir(self.refits.active) if cfg.refit_on_drift and self.refits.data["refits"]
                  else probe_dir)
        self.tasks = resolve_tasks(cfg.tasks, self.ws, cfg.limit)
        self.extract_cfg = workspace_extract_config(self.ws, cfg.batch_size)
        self.layer_ids = None  # saved features keep what `probecast extract` keeps; else only what the probe reads
        if not cfg.save_features:  # (listed paths teach at fit time only, unless the probe reads them)
            self.extract_cfg, self.layer_ids = plan_extraction(self.extract_cfg, self.probe.reads_)
        self.sinks = make_sinks(self.ws, cfg.sinks, cfg.run_name)
        self.n_evaluations = 0

    def _use(self, version: str, probe_dir: Path) -> None:
        """Predict with this probe version from now on."""
        from probecast.evaluation.predict import fingerprint

        self.version = version
        self.probe = load_probe(probe_dir)
        self.probe_fingerprint = fingerprint(probe_dir)
        self.score_errors = probe_score_errors(self.ws, version)  # {} without an evaluation of it
        self.__dict__.pop("spec", None)  # the next evaluation is dispatched with this version

    @functools.cached_property
    def spec(self) -> MonitorSpec:
        """What a worker needs to evaluate a model for this monitor (no sinks, no workspace)."""
        return MonitorSpec(self.probe, self.probe_name, tuple(self.tasks), self.extract_cfg, self.score_errors,
                           n_boot=self.cfg.n_boot, seed=self.cfg.seed, audit=self.cfg.audit,
                           keep_arrays=self.cfg.save_features, layer_ids=self.layer_ids, version=self.version,
                           shared_prefix=self.cfg.shared_prefix)

    def audit_due(self, ahead: int = 0) -> bool:
        """Whether the evaluation `ahead` places after the next one is an audited one (by schedule)."""
        return self.cfg.audit.due(self.n_evaluations + ahead)

    def evaluate(self, model, tokenizer, step: int, checkpoint: str | None = None, source: str = "callback",
                 load_s: float = 0.0, audit: bool | None = None, path: str | None = None) -> list[dict]:
        """Evaluate the model as it is now; log and return one record per task. `audit=None`: by schedule.
        `path`: the checkpoint folder, for an audit backend that starts its own engine (vLLM)."""
        checkpoint = checkpoint or f"step-{step}"
        do_audit = self.audit_due() if audit is None else audit
        ev = compute_evaluation(self.spec, model, tokenizer, step, checkpoint, source, do_audit, path=path)
        ev.load_s = load_s
        return self.record(ev)

    def record(self, ev: Evaluation) -> list[dict]:
        """Store what an evaluation produced (features, predictions, audit rows) and log its records to every
        sink; this process is the only writer."""
        t0 = time.perf_counter()
        for rec, arrays, p, rows, task in zip(ev.records, ev.arrays, ev.p_success, ev.audit_rows, self.tasks):
            rec["run"] = self.cfg.run_name
            if arrays is not None:
                self._save(ev.fingerprint, task, rec["checkpoint"], rec["step"], arrays, rec["prefill_s"], p)
            if rows is not None:
                write_parquet_atomic(self.ws.monitor_dir / "audit" / safe_name(rec["checkpoint"]) /
                                     f"{safe_name(task.name)}.parquet", rows.drop(columns=["completions"]),
                                     {"probe": rec["probe_version"], "probe_fingerprint": self.probe_fingerprint,
                                      "fingerprint": ev.fingerprint})
        records = ev.records
        step = int(records[0]["step"]) if records else 0
        do_audit = any(rows is not None for rows in ev.audit_rows)
        event = (self._drift_check(records, step, records[0]["checkpoint"])
                 if records and do_audit and self.cfg.refit_on_drift else None)
        eval_s = ev.compute_s + ev.load_s + time.perf_counter() - t0
        eval_id = uuid.uuid4().hex[:16]
        for rec in records:
            rec.update(eval_latency_s=eval_s, load_s=ev.load_s, time=time.time(), eval_id=eval_id,
                       n_records=len(records))
        self.n_evaluations += 1
        metrics = metrics_of(records, eval_s)
        for sink in reversed(self.sinks):  # JSONL (first) last: it is the commit point the watcher trusts
            sink.log(step, metrics, records)
        if event is not None:
            refit_metrics = {metric_name(None, "refits"): float(len(self.refits.data["refits"]))}
            for sink in self.sinks:
                sink.log(step, refit_metrics, [])
        return records

    def _drift_check(self, records: list[dict], step: int, checkpoint: str) -> dict | None:
        """Feed this audit's residuals to the CUSUM; on drift refit, switch version, log the event."""
        fired = self.drift.update({r["task"]: (r["ppi_rectifier"], r["ppi_rectifier_se"]) for r in records
                                   if "ppi_rectifier" in r})
        for r in records:
            r["drift_cusum"] = self.drift.statistic(r["task"])
        event = None
        if fired:
            stats = {t: self.drift.statistic(t) for t in sorted(self.drift.state.upper)}
            name, directory, _, info = refit_probe(self.ws, self.probe, self.version)
            event = {"event": "refit", "time": time.time(), "run": self.cfg.run_name, "probe": self.probe_name,
                     "checkpoint": checkpoint, "step": int(step), "from": self.version, "to": name,
                     "tasks": fired, "cusum": stats, "drift_test": f"two-sided CUSUM k={self.drift.cfg.k} "
                     f"h={self.drift.cfg.h} on audit residuals", **info}
            self._use(name, directory)
            self.drift.reset()
            self.refits.data["refits"].append(event)
            self.refits.data["active"] = name
            append_event(self.ws, event)
            for r in records:
                r["refit_to"] = name
        self.refits.data["cusum"] = self.drift.state.to_dict()
        self.refits.save()
        return event

    def _save(self, model_fingerprint: str, task, checkpoint: str, step: int, arrays: dict, wall: float,
              p: np.ndarray) -> None:
        """Features as `probecast extract` writes them, and per-question predictions as `probecast predict`
        does (same probe fingerprint, so `predict` reuses them)."""
        from probecast.features.store import save_features

        qids = [q.id for q in task.questions]
        save_features(self.ws, checkpoint, step, task.name, qids, arrays,
                      {"fingerprint": model_fingerprint, "settings": self.extract_cfg.to_dict(),
                       "wall_time_s": wall, "prompts": task.prompts()})
        df = pd.DataFrame({"checkpoint": checkpoint, "step": int(step), "task": task.name, "question_id": qids,
                           "p_success": p})
        write_parquet_atomic(self.ws.predictions_path(checkpoint, task.name, self.version), df,
                             {"probe": self.version, "probe_fingerprint": self.probe_fingerprint})

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
        self.sinks = []

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
