"""Extract features for every checkpoint × task of a workspace (resumable, atomic)."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.checkpoints.load import fingerprint
from probecast.errors import ProbecastError
from probecast.features.extract import ExtractConfig, extract_task
from probecast.features.shared_prefix import outcome, process_states
from probecast.features.store import save_features
from probecast.executors import Executor
from probecast.pipeline import UnitJob, for_each_checkpoint
from probecast.tasks.schema import Task
from probecast.workspace import Workspace


def extract_workspace(ws: Workspace, checkpoints: Sequence[Checkpoint], tasks: Sequence[Task], cfg: ExtractConfig,
                      progress: bool = True, executor: Executor | None = None, redo: frozenset = frozenset(),
                      shared_prefix: bool = True) -> int:
    """Extract every (checkpoint, task) without features on disk, and the (checkpoint id, task name) pairs in
    `redo` (results made with other settings, replaced: see `identity.stale_results`). `shared_prefix`: blocks
    identical across checkpoints are computed once (`features/shared_prefix.py`; the features are the same)."""
    try:
        return for_each_checkpoint(checkpoints, tasks, extract_job(ws, cfg, redo, shared_prefix), executor=executor,
                                   progress=progress)
    finally:
        process_states().clear()  # this process's kept states (a Ray worker's go with the worker)


def extract_job(ws: Workspace, cfg: ExtractConfig, redo: frozenset = frozenset(),
                shared_prefix: bool = True) -> UnitJob:
    def compute(model, tokenizer, ckpt: Checkpoint, task: Task) -> tuple[dict, dict]:
        resolved = resolve_layers(cfg, model.config.num_hidden_layers + 1, ckpt)
        prefix = process_states().plan_extraction(model, task, resolved) if shared_prefix else None
        before = None if prefix is None else prefix.mode
        arrays, wall = extract_task(model, tokenizer, task, resolved, prefix=prefix)
        how = outcome(before, prefix)
        shared = {} if how is None else {"shared_prefix": {"hidden_states": prefix.depth, "states": how}}
        return arrays, {**shared, "fingerprint": fingerprint(model, tokenizer), "settings": resolved.to_dict(),
                        "wall_time_s": wall,
                        "prompts": task.prompts(), "questions": [q.text for q in task.questions],
                        "multiple_choice": "true" if task.is_multiple_choice else "false"}

    def write(ckpt: Checkpoint, task: Task, result: tuple[dict, dict]) -> None:
        arrays, metadata = result
        save_features(ws, ckpt.id, ckpt.step if ckpt.step is not None else -1, task.name,
                      [q.id for q in task.questions], arrays, metadata)

    return UnitJob("extract", compute, write,
                   lambda c, t: ws.features_path(c.id, t.name).exists() and (c.id, t.name) not in redo)


def resolve_layers(cfg: ExtractConfig, n_hidden: int, ckpt: Checkpoint) -> ExtractConfig:
    """`--layers` as the non-negative hidden_states indices stored (and recorded); an index outside the model
    (e.g. 99 on a 3-layer model) is an error, never wrapped onto another layer."""
    if cfg.layers is None:
        return cfg
    bad = [l for l in cfg.layers if not -n_hidden <= l < n_hidden]
    if bad:
        raise ProbecastError(f"--layers {','.join(map(str, cfg.layers))}: checkpoint {ckpt.id} has hidden_states "
                             f"0..{n_hidden - 1} ({n_hidden - 1} layers + the embeddings); {bad} is out of range "
                             f"(use indices in {-n_hidden}..{n_hidden - 1})")
    return replace(cfg, layers=tuple(dict.fromkeys(l % n_hidden for l in cfg.layers)))
