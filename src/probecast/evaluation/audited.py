"""`probecast predict --audit`: the probe's task score corrected by real labels on a random subset.

For each predicted (checkpoint, task), load the checkpoint once, label uniformly random questions with the
audit backend (`labels/audit.py`: N of them, or as many as a target interval half-width needs) and add the
prediction-powered estimate and interval (`evaluation/ppi.py`) to the task row. The audit labels go to
W/monitor/audit/<checkpoint>/<task>.parquet, where the monitor keeps its own, so a later refit uses them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.evaluation.ppi import AuditBudget
from probecast.io import write_parquet_atomic
from probecast.labels import audit as labels_audit
from probecast.stored import read_parquet
from probecast.workspace import Workspace, safe_name


def audit_table(ws: Workspace, probe_name: str, table: pd.DataFrame, budget: AuditBudget,
                settings: labels_audit.AuditSettings, show_progress: bool = True) -> pd.DataFrame:
    """`table` (from `predict`) with ppi_* columns for every row."""
    from probecast.checkpoints.discover import Checkpoint
    from probecast.checkpoints.load import free_model, load_model
    from probecast.resolve import loadable, resolve_tasks

    records = {r["id"]: r for r in ws.read_checkpoints()}
    tasks = {t.name: t for t in resolve_tasks(None, ws)}
    ckpts = {}
    for ckpt_id in table["checkpoint"].unique():  # every one checked before the first is labelled
        if ckpt_id not in records:
            raise ProbecastError(f"--audit: checkpoint {ckpt_id!r} is not in {ws.checkpoints_file}, so it cannot "
                                 f"be loaded for labelling")
        ckpts[ckpt_id] = loadable(ws, Checkpoint.from_record(records[ckpt_id]))
    out = []
    for ckpt_id, rows in table.groupby("checkpoint", sort=False):
        model, tokenizer = load_model(ckpts[ckpt_id])
        try:
            for _, row in rows.iterrows():
                out.append({**row.to_dict(), **_audit_one(ws, probe_name, model, tokenizer, tasks, row, budget,
                                                         settings)})
                if show_progress:
                    r = out[-1]
                    print(f"audited {ckpt_id} {row['task']}: {r['ppi_n_labels']} labels, PPI "
                          f"{r['ppi_estimate']:.3f} [{r['ppi_lo']:.3f}, {r['ppi_hi']:.3f}]", flush=True)
        finally:
            free_model(model)
    return pd.DataFrame(out)


def _audit_one(ws: Workspace, probe_name: str, model, tokenizer, tasks: dict, row: pd.Series,
               budget: AuditBudget, settings: labels_audit.AuditSettings) -> dict:
    from probecast.tasks.schema import Task

    name = str(row["task"])
    if name not in tasks:
        raise ProbecastError(f"--audit: task {name!r} is not among the workspace's tasks ({ws.tasks_file})")
    preds = read_parquet(ws.predictions_path(row["checkpoint"], name, probe_name))
    p_by_id = dict(zip(preds["question_id"].astype(str), preds["p_success"].astype(float)))
    task = tasks[name]
    task = Task(**{**task.__dict__, "questions": [q for q in task.questions if q.id in p_by_id]})
    p = np.array([p_by_id[q.id] for q in task.questions])
    step = int(row["step"])
    est, labels = labels_audit.audit_task(model, tokenizer, task, p, str(row["checkpoint"]), step, budget,
                                          settings, seed=settings.seed * 1_000_003 + step)
    write_parquet_atomic(ws.monitor_dir / "audit" / safe_name(str(row["checkpoint"])) / f"{safe_name(name)}.parquet",
                         labels.drop(columns=["completions"], errors="ignore"), {"probe": probe_name})
    return est.record()
