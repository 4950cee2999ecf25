"""The checkpoint × task loop shared by labelling and feature extraction.

Loads each checkpoint at most once (one model in memory at a time), skips the (checkpoint, task) pairs whose
result file already exists, and shows progress. A failing checkpoint stops the loop with the work done so
far kept on disk.
"""

from __future__ import annotations

from typing import Callable, Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.tasks.schema import Task


def for_each_checkpoint(checkpoints: Sequence[Checkpoint], tasks: Sequence[Task],
                        is_done: Callable[[Checkpoint, Task], bool],
                        work: Callable[[object, object, Checkpoint, Task], None],
                        desc: str, dtype: str = "float32", progress: bool = True, load: bool = True) -> int:
    """Run `work(model, tokenizer, checkpoint, task)` for every pair not yet done; returns pairs done now.
    `load=False`: the work loads what it needs itself (e.g. a vLLM engine) and gets `None, None`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from probecast.checkpoints.load import free_model, load_model

    todo = [(c, [t for t in tasks if not is_done(c, t)]) for c in checkpoints]
    total = sum(len(ts) for _, ts in todo)
    done = 0
    with Progress(TextColumn(desc), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[what]}"),
                  TimeElapsedColumn(), disable=not progress or total == 0) as bar:
        pid = bar.add_task(desc, total=total, what="")
        for ckpt, pending in todo:
            if not pending:
                continue
            model, tokenizer = load_model(ckpt, dtype=dtype) if load else (None, None)
            for task in pending:
                bar.update(pid, what=f"{ckpt.id} / {task.name}")
                work(model, tokenizer, ckpt, task)
                done += 1
                bar.advance(pid)
            if model is not None:
                free_model(model)
    return done
