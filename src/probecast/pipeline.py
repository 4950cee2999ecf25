"""The checkpoint × task loop shared by labelling and feature extraction, on any executor.

A `UnitJob` says how one (checkpoint, task) unit is computed (`compute(model, tokenizer, ckpt, task)`, run where
the executor puts it: this process or a Ray worker; it returns the result and writes nothing) and how its result
is written (`write`, always here, atomically: this process is the workspace's only writer). Units whose result
exists are skipped, so a rerun only does what is missing; a unit that fails is reported with its checkpoint,
task and error while the others finish, and the run then ends with a `ProbecastError` naming them.

Each process keeps the last checkpoint it loaded (`loaded_model`), and units are submitted checkpoint by
checkpoint, so a checkpoint is loaded once per worker, not once per task.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.errors import ProbecastError
from probecast.executors import Executor, make_executor, map_units
from probecast.tasks.schema import Task

_LOADED: dict[tuple, tuple[Any, Any]] = {}  # this process's one loaded checkpoint: key -> (model, tokenizer)


@dataclass(frozen=True)
class UnitJob:
    name: str  # progress label ("label", "extract")
    compute: Callable[[Any, Any, Checkpoint, Task], Any]  # shipped to workers: capture no workspace, no open files
    write: Callable[[Checkpoint, Task, Any], None]  # here, atomically
    is_done: Callable[[Checkpoint, Task], bool]
    dtype: str = "float32"  # the model's compute dtype
    load: bool = True  # False: compute loads what it needs itself (e.g. a vLLM engine) and gets (None, None)


def loaded_model(ckpt: Checkpoint, dtype: str):
    """The checkpoint's (model, tokenizer), loaded once per process (the previous one is freed first)."""
    from probecast.checkpoints.load import load_model
    from probecast.runtime import device

    key = (ckpt.id, ckpt.path, ckpt.revision, ckpt.gguf_file, dtype, device())
    if key not in _LOADED:
        release_model()
        _LOADED[key] = load_model(ckpt, dtype=dtype, device=device())
    return _LOADED[key]


def release_model() -> None:
    from probecast.checkpoints.load import free_model

    for model, _ in _LOADED.values():
        free_model(model)
    _LOADED.clear()


_BACKENDS: dict = {}  # this process's live labelling backends, by BackendConfig (one checkpoint at a time each)


def backend_for(cfg, ckpt: Checkpoint, model=None, tokenizer=None):
    """The labelling backend for `ckpt` in this process: a vLLM engine starts once per checkpoint, wherever the
    unit runs, and is closed when this process moves to another checkpoint or the loop ends."""
    from probecast.labels.backends import BackendPerCheckpoint

    return _BACKENDS.setdefault(cfg, BackendPerCheckpoint(cfg)).get(ckpt, model, tokenizer)


def release_backends() -> None:
    for per_checkpoint in _BACKENDS.values():
        per_checkpoint.close()
    _BACKENDS.clear()


def run_unit(compute: Callable, ckpt: Checkpoint, task: Task, dtype: str, load: bool = True) -> Any:
    """One unit, wherever it runs."""
    model, tokenizer = loaded_model(ckpt, dtype) if load else (None, None)
    return compute(model, tokenizer, ckpt, task)


def portable(ckpt: Checkpoint) -> Checkpoint:
    """The checkpoint with an absolute path when it is a local one (a worker's working folder is not ours)."""
    path = Path(ckpt.path)
    return replace(ckpt, path=str(path.resolve())) if path.exists() else ckpt


def for_each_checkpoint(checkpoints: Sequence[Checkpoint], tasks: Sequence[Task], job: UnitJob,
                        executor: Executor | None = None, progress: bool = True) -> int:
    """Run every unit of `job` not yet done on `executor` (default: this process); returns units written now."""
    from probecast.ui import note, steps

    todo = [(c, t) for c in checkpoints for t in tasks if not job.is_done(c, t)]
    own = executor is None
    executor = executor or make_executor()
    written, failed = 0, []
    try:
        with steps(job.name, len(todo), show=progress and bool(todo)) as bar:
            bar.describe(executor.where)
            ported = {c.id: portable(c) for c in checkpoints}
            args = [(job.compute, ported[c.id], t, job.dtype, job.load) for c, t in todo]
            for i, result, error in map_units(executor, run_unit, args):
                ckpt, task = todo[i]
                if error is not None:
                    failed.append(f"{ckpt.id} / {task.name}: {error}")
                    note(f"{job.name} failed {ckpt.id} / {task.name}: {error}")
                elif not job.is_done(ckpt, task):  # a unit finished twice still leaves one result
                    job.write(ckpt, task, result)
                    written += 1
                bar.advance(what=f"{ckpt.id} / {task.name}")
    finally:
        if own:
            executor.close()
        release_model()
        release_backends()
    if failed:
        raise ProbecastError(f"{job.name}: {len(failed)} of {len(todo)} checkpoint × task units failed (the others "
                             f"are written; rerun to retry only these): " + "; ".join(failed))
    return written
