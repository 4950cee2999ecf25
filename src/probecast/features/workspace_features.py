"""Extract features for every checkpoint × task of a workspace (resumable, atomic)."""

from __future__ import annotations

from typing import Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.checkpoints.load import fingerprint
from probecast.features.extract import ExtractConfig, extract_task
from probecast.features.store import save_features
from probecast.pipeline import for_each_checkpoint
from probecast.tasks.schema import Task
from probecast.workspace import Workspace


def extract_workspace(ws: Workspace, checkpoints: Sequence[Checkpoint], tasks: Sequence[Task], cfg: ExtractConfig,
                      progress: bool = True, redo: frozenset = frozenset()) -> int:
    """Extract every (checkpoint, task) without features on disk, and the (checkpoint id, task name) pairs in
    `redo` (results made with other settings, replaced: see `identity.stale_results`)."""
    def work(model, tokenizer, ckpt: Checkpoint, task: Task) -> None:
        arrays, wall = extract_task(model, tokenizer, task, cfg)
        save_features(ws, ckpt.id, ckpt.step if ckpt.step is not None else -1, task.name,
                      [q.id for q in task.questions], arrays,
                      {"fingerprint": fingerprint(model, tokenizer), "settings": cfg.to_dict(), "wall_time_s": wall,
                       "prompts": task.prompts(), "questions": [q.text for q in task.questions],
                       "multiple_choice": "true" if task.is_multiple_choice else "false"})

    def is_done(c: Checkpoint, t: Task) -> bool:
        return ws.features_path(c.id, t.name).exists() and (c.id, t.name) not in redo

    return for_each_checkpoint(checkpoints, tasks, is_done, work, desc="extract", progress=progress)
