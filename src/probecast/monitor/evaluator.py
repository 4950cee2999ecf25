"""`Monitor`: evaluate an in-memory model with a fitted probe and log predicted task scores.

Shared by the watcher (a checkpoint loaded from disk) and the training callbacks (the live model, no reload).
Per task: one prefill pass (`extract_task`, with the extraction settings the probe's training features were
made with, except that the listed alternative answer paths are scored only when the features are saved or the
probe reads them at prediction time (`Probe.needs_alternatives`); otherwise a probe learns from them at fit time
only) -> the probe's P(success) per question -> task score = mean, with a percentile bootstrap interval
over questions, widened by the probe's measured task-score error when `probecast evaluate` measured one
(`evaluation/interval.py`) -> one record per task to every sink. Optionally every Mth evaluation is audited by real
generative labelling of a small random subset (`audit.py`): the record then also carries the prediction-powered
estimate and interval (`ppi_*`). With `refit_on_drift`, each audit feeds a CUSUM on the audit residuals
(`drift.py`); when it fires the probe is refitted on every label (`refit.py`), saved as a new version and used
from the next evaluation on (records say which version made them: `probe_version`).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.features.extract import ExtractConfig, extract_task
from probecast.features.in_memory import featureset_from_arrays
from probecast.io import write_parquet_atomic
from probecast.monitor.audit import AuditConfig, audit_task
from probecast.monitor.drift import CusumDrift, CusumState, DriftConfig
from probecast.monitor.refit import RefitLog, append_event, refit_probe
from probecast.monitor.sinks import make_sinks, metrics_of
from probecast.monitor.trackers import metric_name
from probecast.probes.base import load_probe
from probecast.evaluation.interval import probe_score_errors, task_score_interval
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


def workspace_extract_config(ws: Workspace, batch_size: int | None = None) -> ExtractConfig:
    """The extraction settings of the workspace's features (what the probes were fitted on)."""
    from safetensors import safe_open

    for path in sorted((ws.root / "features").glob("*/*.safetensors")):
        with safe_open(str(path), framework="numpy") as f:
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
        if not (cfg.save_features or self.probe.needs_alternatives):  # listed paths teach at fit time only,
            self.extract_cfg = replace(self.extract_cfg, alternatives=False)  # unless the probe reads them
        self.sinks = make_sinks(self.ws, cfg.sinks, cfg.run_name)
        self.n_evaluations = 0

    def _use(self, version: str, probe_dir: Path) -> None:
        """Predict with this probe version from now on."""
        from probecast.evaluation.predict import fingerprint

        self.version = version
        self.probe = load_probe(probe_dir)
        self.probe_fingerprint = fingerprint(probe_dir)
        self.score_errors = probe_score_errors(self.ws, version)  # {} without an evaluation of it

    def evaluate(self, model, tokenizer, step: int, checkpoint: str | None = None, source: str = "callback",
                 load_s: float = 0.0, audit: bool | None = None) -> list[dict]:
        """Evaluate the model as it is now; log and return one record per task. `audit=None`: by schedule."""
        from probecast.checkpoints.load import fingerprint as model_fingerprint

        t0 = time.perf_counter()
        checkpoint = checkpoint or f"step-{step}"
        do_audit = self.cfg.audit.due(self.n_evaluations) if audit is None else audit
        was_training = model.training
        model.eval()
        records = []
        try:
            for task in self.tasks:
                t_task = time.perf_counter()
                arrays, prefill_s = extract_task(model, tokenizer, task, self.extract_cfg)
                p = self.probe.predict_proba(featureset_from_arrays(task, checkpoint, step, arrays))
                lo, hi, covers = task_score_interval(p, self.score_errors.get(task.name), n_boot=self.cfg.n_boot,
                                                     seed=self.cfg.seed)
                rec = {"checkpoint": checkpoint, "step": int(step), "task": task.name, "pred_pass1": float(p.mean()),
                       "pred_pass1_lo": lo, "pred_pass1_hi": hi, "interval": covers,
                       "latency_s": time.perf_counter() - t_task,
                       "prefill_s": prefill_s, "n_questions": len(p), "probe": self.probe_name,
                       "probe_version": self.version, "run": self.cfg.run_name, "source": source}
                if self.cfg.save_features:
                    self._save(model, tokenizer, task, checkpoint, step, arrays, prefill_s, p)
                if do_audit:
                    result, rows = audit_task(model, tokenizer, task, p, checkpoint, step, self.cfg.audit)
                    rec.update(result)
                    write_parquet_atomic(self.ws.monitor_dir / "audit" / safe_name(checkpoint) /
                                         f"{safe_name(task.name)}.parquet", rows.drop(columns=["completions"]),
                                         {"probe": self.version, "probe_fingerprint": self.probe_fingerprint,
                                          "fingerprint": model_fingerprint(model, tokenizer)})
                records.append(rec)
        finally:
            if was_training:
                model.train()
        event = self._drift_check(records, step, checkpoint) if do_audit and self.cfg.refit_on_drift else None
        eval_s = time.perf_counter() - t0 + load_s
        eval_id = uuid.uuid4().hex[:16]
        for rec in records:
            rec.update(eval_latency_s=eval_s, load_s=load_s, time=time.time(), eval_id=eval_id,
                       n_records=len(records))
        self.n_evaluations += 1
        metrics = metrics_of(records, eval_s)
        for sink in reversed(self.sinks):  # JSONL (first) last: it is the commit point the watcher trusts
            sink.log(int(step), metrics, records)
        if event is not None:
            refit_metrics = {metric_name(None, "refits"): float(len(self.refits.data["refits"]))}
            for sink in self.sinks:
                sink.log(int(step), refit_metrics, [])
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

    def _save(self, model, tokenizer, task, checkpoint: str, step: int, arrays: dict, wall: float,
              p: np.ndarray) -> None:
        """Features as `probecast extract` writes them, and per-question predictions as `probecast predict`
        does (same probe fingerprint, so `predict` reuses them)."""
        from probecast.checkpoints.load import fingerprint as model_fingerprint
        from probecast.features.store import save_features

        qids = [q.id for q in task.questions]
        save_features(self.ws, checkpoint, step, task.name, qids, arrays,
                      {"fingerprint": model_fingerprint(model, tokenizer), "settings": self.extract_cfg.to_dict(),
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
