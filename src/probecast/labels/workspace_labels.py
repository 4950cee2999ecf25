"""Label every checkpoint × task of a workspace (resumable) and summarise the result."""

from __future__ import annotations

from typing import Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.labels.backends import BackendConfig
from probecast.labels.label import LabelConfig, label_task
from probecast.executors import Executor
from probecast.features.shared_prefix import process_states
from probecast.pipeline import UnitJob, backend_for, for_each_checkpoint
from probecast.tasks.schema import Task
from probecast.workspace import Workspace


def label_workspace(ws: Workspace, checkpoints: Sequence[Checkpoint], tasks: Sequence[Task], cfg: LabelConfig,
                    dtype: str = "float32", progress: bool = True, executor: Executor | None = None,
                    backend: str = "hf", redo: frozenset = frozenset(), shared_prefix: bool = True) -> int:
    """Label every checkpoint × task without labels on disk, and the (checkpoint id, task name) pairs in `redo`
    (results made with other settings, replaced: see `identity.stale_results`), with `backend`
    (`labels.backends.BACKENDS`), one engine per checkpoint. `shared_prefix`: multiple-choice log-likelihoods
    run the blocks a checkpoint shares with an earlier one once (`features/shared_prefix.py`; the same labels)."""
    try:
        return for_each_checkpoint(checkpoints, tasks, label_job(ws, cfg, dtype, backend, redo, shared_prefix),
                                   executor=executor, progress=progress)
    finally:
        process_states().clear()


def label_job(ws: Workspace, cfg: LabelConfig, dtype: str = "float32", backend: str = "hf",
              redo: frozenset = frozenset(), shared_prefix: bool = True) -> UnitJob:
    spec = BackendConfig(name=backend, batch_size=cfg.batch_size, seed=cfg.seed, dtype=dtype,
                         shared_prefix=shared_prefix)

    def compute(model, tokenizer, ckpt: Checkpoint, task: Task):
        df, meta = label_task(backend_for(spec, ckpt, model, tokenizer), task, cfg, ckpt.id, ckpt.step)
        return df, {**meta, "backend": backend, "dtype": dtype}

    return UnitJob("label", compute, lambda c, t, result: ws.write_labels(c.id, t.name, *result),
                   lambda c, t: ws.has_labels(c.id, t.name) and (c.id, t.name) not in redo, dtype=dtype,
                   load=spec.needs_hf_model)


def label_table(ws: Workspace, checkpoints: Sequence[Checkpoint], tasks: Sequence[Task]):
    """A rich table of mean pass@1 per checkpoint (rows) and task (columns)."""
    from rich.table import Table

    df = ws.read_labels([c.id for c in checkpoints], [t.name for t in tasks])
    from probecast.ui import id_column

    table = Table(title="mean pass@1")
    table.add_column("checkpoint", **id_column(c.id for c in checkpoints))
    table.add_column("step")
    for t in tasks:
        table.add_column(t.name)
    if df.empty:
        return table
    means = df.groupby(["checkpoint", "task"])["pass1"].mean()
    for c in checkpoints:
        table.add_row(c.id, str(c.step), *[f"{means.get((c.id, t.name), float('nan')):.2f}" for t in tasks])
    return table
