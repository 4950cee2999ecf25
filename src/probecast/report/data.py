"""Everything the report shows, read from a workspace (each part optional: the report shows what exists).

- summary.json + evaluation/evaluation.json: probes, baselines, the split, latency (`latency_s`);
- evaluation/per_checkpoint.parquet: predicted vs actual task score per (method, task, checkpoint), test
  questions only; evaluation/predictions.parquet: the per-question test rows (calibration);
- labels/: the actual task score per (checkpoint, task) over all labelled questions;
- monitor/predictions.jsonl: the in-training monitor's predictions (and audits);
- forecasts/*.json (+ a PNG of the same name): the forecasters' results;
- checkpoints.json, tasks.json, probes/*/config.json: what it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from probecast.monitor.sinks import jsonl_path, read_jsonl
from probecast.stored import read_json, read_parquet
from probecast.workspace import Workspace


@dataclass
class ReportData:
    root: Path
    summary: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    per_checkpoint: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    actual: pd.DataFrame = field(default_factory=pd.DataFrame)  # checkpoint, step, task, actual, n_questions
    questions: pd.DataFrame = field(default_factory=pd.DataFrame)  # task, question_id, difficulty, pass1 by step
    monitor: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: list[dict] = field(default_factory=list)  # monitor/events.jsonl: probe refits on drift
    forecasts: list[dict] = field(default_factory=list)  # {"name", "result", "png": Path | None}
    checkpoints: list[dict] = field(default_factory=list)
    task_specs: list[dict] = field(default_factory=list)
    probe_configs: dict[str, dict] = field(default_factory=dict)

    @property
    def best_probe(self) -> str | None:
        return self.summary.get("best_probe") or self.evaluation.get("best_probe")

    @property
    def train_steps(self) -> list[int]:
        return list(self.summary.get("train_checkpoints") or self.evaluation.get("train_checkpoints") or [])

    def is_empty(self) -> bool:
        return self.per_checkpoint.empty and self.monitor.empty and self.actual.empty and not self.forecasts


def load_report_data(ws: Workspace) -> ReportData:
    d = ReportData(root=ws.root)
    d.summary = ws.read_summary()
    ev = ws.root / "evaluation"
    if (ev / "evaluation.json").exists():
        d.evaluation = read_json(ev / "evaluation.json", dict)
    if (ev / "per_checkpoint.parquet").exists():
        d.per_checkpoint = read_parquet(ev / "per_checkpoint.parquet")
    if (ev / "predictions.parquet").exists():
        d.predictions = read_parquet(ev / "predictions.parquet")
    labels = ws.read_labels()
    if not labels.empty:
        d.actual = (labels.groupby(["checkpoint", "step", "task"], as_index=False)
                    .agg(actual=("pass1", "mean"), n_questions=("pass1", "size"))
                    .sort_values(["task", "step"]).reset_index(drop=True))
        d.questions = _question_table(labels)
    records = read_jsonl(jsonl_path(ws))
    if records:
        d.monitor = pd.DataFrame(records).sort_values(["step", "task"], kind="stable").reset_index(drop=True)
    d.events = read_jsonl(ws.monitor_dir / "events.jsonl")
    for path in sorted(ws.forecasts_dir.glob("*.json")) if ws.forecasts_dir.is_dir() else []:
        png = path.with_suffix(".png")
        d.forecasts.append({"name": path.stem, "result": read_json(path, dict), "png": png if png.exists() else None})
    d.checkpoints = ws.read_checkpoints()
    d.task_specs = ws.task_specs()
    for cfg in sorted((ws.root / "probes").glob("*/config.json")):
        meta = read_json(cfg, dict)
        d.probe_configs[cfg.parent.name] = {"kind": meta.get("probe"), "config": meta.get("config"),
                                            "state": meta.get("state")}
    return d


def _question_table(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per question: its difficulty and pass@1 at each labelled step (columns `pass1@<step>`)."""
    wide = labels.pivot_table(index=["task", "question_id"], columns="step", values="pass1", aggfunc="mean")
    wide.columns = [f"pass1@{int(s)}" for s in wide.columns]
    meta = labels.drop_duplicates(["task", "question_id"]).set_index(["task", "question_id"])
    cols = [c for c in ("domain", "difficulty") if c in meta]
    return meta[cols].join(wide).reset_index()


def best_rows(d: ReportData) -> pd.DataFrame:
    """per_checkpoint rows of the best probe (the report's headline table)."""
    if d.per_checkpoint.empty or d.best_probe is None:
        return pd.DataFrame()
    t = d.per_checkpoint[d.per_checkpoint["method"] == d.best_probe]
    return t.sort_values(["task", "step"]).reset_index(drop=True)


def latest_monitor(d: ReportData) -> pd.DataFrame:
    """The monitor log with one row per (run, probe, step, task): the last one logged."""
    if d.monitor.empty:
        return d.monitor
    keys = [k for k in ("run", "probe", "step", "task") if k in d.monitor]
    return d.monitor.drop_duplicates(keys, keep="last").reset_index(drop=True)


def monitor_accuracy(d: ReportData) -> pd.DataFrame:
    """Per task, over monitored checkpoints that have labels and come after the probe's training checkpoints
    (summary.json `train_checkpoints`, when known): mean |predicted − actual| task score, how often
    the actual score fell inside the interval, and for audited evaluations the gap between the probe's mean
    and the generative pass@1 on the audited subset."""
    mon = latest_monitor(d)
    if mon.empty:
        return pd.DataFrame()
    rows = []
    joined = mon.merge(d.actual[["step", "task", "actual"]], on=["step", "task"], how="left") if not d.actual.empty \
        else mon.assign(actual=float("nan"))
    last_train = max(d.train_steps) if d.train_steps else None
    for task, g in joined.groupby("task", sort=True):
        lab = g[g["actual"].notna() & ((g["step"] > last_train) if last_train is not None else True)]
        row = {"task": task, "evaluations": len(g), "scored": len(lab),
               "mean_abs_err": float((lab["pred_pass1"] - lab["actual"]).abs().mean()) if len(lab) else float("nan"),
               "interval_coverage": float(((lab["pred_pass1_lo"] <= lab["actual"]) &
                                           (lab["actual"] <= lab["pred_pass1_hi"])).mean()) if len(lab) else float("nan")}
        if "audit_pass1" in g and g["audit_pass1"].notna().any():
            au = g[g["audit_pass1"].notna()]
            row.update(audits=len(au), audit_abs_err=float((au["audit_pred_pass1"] - au["audit_pass1"]).abs().mean()))
        rows.append(row)
    return pd.DataFrame(rows)
