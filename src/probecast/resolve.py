"""Turn CLI arguments (or what a workspace remembers) into checkpoints and tasks.

Every command after `label` can be given just `--ws W`: the checkpoints come from W/checkpoints.json and the
tasks from W/tasks.json, so features and predictions use exactly the prompts the labels used.
"""

from __future__ import annotations

from probecast.checkpoints.discover import Checkpoint, discover_checkpoints
from probecast.errors import ProbecastError
from probecast.tasks.registry import load_tasks
from probecast.tasks.schema import Task
from probecast.workspace import Workspace


def resolve_checkpoints(source: str | None, ws: Workspace, select: str | None = None) -> list[Checkpoint]:
    """Checkpoints of `source` (recorded in the workspace), else the workspace's; `select` filters by
    comma-separated ids or steps."""
    if source:
        ckpts = discover_checkpoints(source)
    else:
        records = ws.read_checkpoints()
        if not records:
            raise ProbecastError(f"{ws.checkpoints_file}: no checkpoints recorded; give a checkpoint folder or run "
                                 f"folder as the first argument")
        ckpts = [Checkpoint.from_record(r) for r in records]
    if select:
        wanted = {s.strip() for s in select.split(",") if s.strip()}
        ckpts = [c for c in ckpts if c.id in wanted or str(c.step) in wanted]
        if not ckpts:
            raise ProbecastError(f"--checkpoints {select!r} matches no checkpoint (ids or steps)")
    if source:
        ws.add_checkpoints(c.to_record() for c in ckpts)
    return ckpts


def resolve_tasks(spec: str | None, ws: Workspace, limit: int | None = None, remember: bool = False) -> list[Task]:
    """Tasks named by `spec`, else every task the workspace remembers (with the question limit it used)."""
    if spec is None:
        saved = ws.task_specs()
        if not saved:
            raise ProbecastError(f"{ws.tasks_file}: no tasks recorded in the workspace; pass --tasks")
        tasks = [t for s in saved for t in load_tasks(s["spec"], limit=s["limit"])]
    else:
        tasks = load_tasks(spec, limit=limit)
        if remember:
            ws.remember_tasks(spec, limit)
    return tasks
