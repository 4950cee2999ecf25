"""Label every checkpoint × task of a workspace (resumable) and summarise the result."""

from __future__ import annotations

from typing import Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.labels.backend import HFBackend
from probecast.labels.label import LabelConfig, label_task
from probecast.pipeline import for_each_checkpoint
from probecast.tasks.schema import Task
from probecast.workspace import Workspace


def label_workspace(ws: Workspace, checkpoints: Sequence[Checkpoint], tasks: Sequence[Task], cfg: LabelConfig,
                    dtype: str = "float32", progress: bool = True, redo: frozenset = frozenset()) -> int:
    """Label every (checkpoint, task) without labels on disk, and the (checkpoint id, task name) pairs in
    `redo` (results made with other settings, replaced: see `identity.stale_results`)."""
    def work(model, tokenizer, ckpt: Checkpoint, task: Task) -> None:
        backend = HFBackend(model, tokenizer, batch_size=cfg.batch_size, seed=cfg.seed)
        df, meta = label_task(backend, task, cfg, ckpt.id, ckpt.step)
        ws.write_labels(ckpt.id, task.name, df, meta)

    def is_done(c: Checkpoint, t: Task) -> bool:
        return ws.has_labels(c.id, t.name) and (c.id, t.name) not in redo

    return for_each_checkpoint(checkpoints, tasks, is_done, work, desc="label", dtype=dtype, progress=progress)


def label_table(ws: Workspace, checkpoints: Sequence[Checkpoint], tasks: Sequence[Task]):
    """A rich table of mean pass@1 per checkpoint (rows) and task (columns)."""
    from rich.table import Table

    df = ws.read_labels([c.id for c in checkpoints], [t.name for t in tasks])
    table = Table("checkpoint", "step", *[t.name for t in tasks], title="mean pass@1")
    if df.empty:
        return table
    means = df.groupby(["checkpoint", "task"])["pass1"].mean()
    for c in checkpoints:
        table.add_row(c.id, str(c.step), *[f"{means.get((c.id, t.name), float('nan')):.2f}" for t in tasks])
    return table
