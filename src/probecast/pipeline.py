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
                        desc: str, dtype: str = "float32", progress: bool = True) -> int:
    """Run `work(model, tokenizer, checkpoint, task)` for every pair not yet done; returns pairs done now."""
    from probecast.checkpoints.load import free_model, load_model
    from probecast.ui import steps

    todo = [(c, [t for t in tasks if not is_done(c, t)]) for c in checkpoints]
    total = sum(len(ts) for _, ts in todo)
    done = 0
    with steps(desc, total, show=progress and total > 0) as bar:
        for ckpt, pending in todo:
            if not pending:
                continue
            bar.describe(f"{ckpt.id}: loading")
            model, tokenizer = load_model(ckpt, dtype=dtype)
            for task in pending:
                bar.describe(f"{ckpt.id} / {task.name}")
                work(model, tokenizer, ckpt, task)
                done += 1
                bar.advance()
            free_model(model)
    return done
