"""Turn CLI arguments (or what a workspace remembers) into checkpoints and tasks.

Every command after `label` can be given just `--ws W`: the checkpoints come from W/checkpoints.json and the
tasks from W/tasks.json, so features and predictions use exactly the prompts the labels used. W/tasks.json
holds one entry per task ({"task", "spec", "limit"}); a task named again without --limit keeps its recorded
question limit, and a different --limit is an error (`label --force` replaces the entry and relabels).
Checkpoints are recorded in W/checkpoints.json only once a result of theirs is on disk (`record_checkpoints`).
"""

from __future__ import annotations

from typing import Callable

from probecast.checkpoints.discover import Checkpoint, blank_path, discover_checkpoints
from probecast.errors import ProbecastError
from probecast.identity import Difference
from probecast.tasks.registry import load_tasks
from probecast.tasks.schema import Task
from probecast.workspace import Workspace


def resolve_checkpoints(source: str | None, ws: Workspace, select: str | None = None,
                        option: str = "--checkpoints") -> list[Checkpoint]:
    """Checkpoints of `source`, else the workspace's (each `loadable`); `select` (the command's `option`) filters by
    comma-separated ids or steps. Nothing is recorded here: `record_checkpoints` does it once their results exist."""
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
        known = ckpts
        ckpts = [c for c in ckpts if c.id in wanted or str(c.step) in wanted]
        if not ckpts:
            ids = [c.id for c in known]
            listing = ", ".join(ids[:8]) + (f" … ({len(ids)} in all)" if len(ids) > 8 else "")
            raise ProbecastError(f"{option} {select!r} matches no checkpoint; give ids or steps of: {listing}")
    return ckpts if source else [loadable(ws, c) for c in ckpts]


def loadable(ws: Workspace, ckpt: Checkpoint) -> Checkpoint:
    """A checkpoint recorded in W/checkpoints.json, checked before it is loaded: an empty (or missing) path would
    load whatever the current folder holds."""
    if blank_path(ckpt.path):
        raise ProbecastError(f"{ws.checkpoints_file}: checkpoint {ckpt.id!r} has an empty path; record it again with "
                             f"its folder (`probecast label CHECKPOINT_DIR --ws {ws.root}` with its labels' settings: "
                             f"finished pairs are skipped) or write the path into its entry")
    return ckpt


def record_checkpoints(ws: Workspace, checkpoints: list[Checkpoint], tasks: list[Task],
                       has_result: Callable[[str, str], bool]) -> None:
    """Record in checkpoints.json the checkpoints with at least one result on disk (a checkpoint that failed
    before any result, e.g. a corrupt one, is not recorded)."""
    done = [c for c in checkpoints if any(has_result(c.id, t.name) for t in tasks)]
    known = {r["id"]: r for r in ws.read_checkpoints()}
    new = [c.to_record() for c in done if known.get(c.id) != c.to_record()]
    if new:
        ws.add_checkpoints(new)


def remembered_tasks(ws: Workspace) -> dict[str, dict]:
    """Task name -> {"task", "spec", "limit"} from W/tasks.json; entries of older workspaces ({"spec", "limit"},
    possibly several for one task) are expanded by loading them, the first entry of a task winning."""
    out: dict[str, dict] = {}
    for e in ws.task_specs():
        names = [e["task"]] if e.get("task") else [t.name for t in load_tasks(e["spec"], limit=e["limit"])]
        for name in names:
            out.setdefault(name, {"task": name, "spec": e["spec"], "limit": e["limit"]})
    return out


def plan_tasks(spec: str | None, ws: Workspace, limit: int | None = None,
               force: bool | None = None) -> tuple[list[Task], list[dict]]:
    """Tasks named by `spec` (else every task the workspace remembers) and their W/tasks.json entries.

    A remembered task keeps its recorded limit when `limit` is None; a different `limit` is a ProbecastError
    unless `force` (None: the command has no --force)."""
    saved = remembered_tasks(ws)
    if spec is None:
        if not saved:
            raise ProbecastError(f"{ws.tasks_file}: no tasks recorded in the workspace; label some first "
                                 f"(`probecast label --tasks ... --ws {ws.root}`), or pass --tasks where the "
                                 f"command has it (extract, watch)")
        wanted = [(e["spec"], e["task"]) for e in saved.values()]
    else:
        items = [s.strip() for s in spec.split(",") if s.strip()]
        wanted = [(item, t.name) for item in items for t in load_tasks(item, limit=limit)]
        names = [n for _, n in wanted]
        if len(set(names)) != len(names):
            raise ProbecastError(f"--tasks {spec!r}: task names repeat: {names}")
    entries, found = [], []
    for item, name in wanted:
        rec = saved.get(name)
        use = limit
        if rec is not None and limit is None:
            use = rec["limit"]
        elif rec is not None and limit != rec["limit"]:
            found.append(Difference(f"task {name} with --limit", rec["limit"], limit))
        entries.append({"task": name, "spec": item if spec is not None else rec["spec"], "limit": use})
    if found and not force:
        how = (" pass --force to redo its results with the new limit, or" if force is not None else "")
        raise ProbecastError(f"{ws.tasks_file} records {'; '.join(map(str, found))}:{how} leave --limit out to use "
                             f"the recorded question set (labels and features must use the same questions)")
    cache: dict[tuple, list[Task]] = {}
    tasks = []
    for e in entries:
        key = (e["spec"], e["limit"])
        if key not in cache:
            cache[key] = load_tasks(e["spec"], limit=e["limit"])
        match = [t for t in cache[key] if t.name == e["task"]]
        if not match:  # a hand-edited (or stale) tasks.json: the task's name is not among those its spec loads
            raise ProbecastError(f"{ws.tasks_file}: task {e['task']!r} is not among the tasks its spec "
                                 f"{e['spec']!r} loads ({', '.join(t.name for t in cache[key]) or 'none'}); fix "
                                 f"that entry, or pass --tasks where the command has it")
        tasks.append(match[0])
    return tasks, entries


def remember_tasks(ws: Workspace, entries: list[dict]) -> None:
    for e in entries:
        ws.remember_tasks(e["spec"], e["limit"], task=e["task"])


def resolve_tasks(spec: str | None, ws: Workspace, limit: int | None = None, remember: bool = False,
                  force: bool | None = None) -> list[Task]:
    """`plan_tasks`, remembering the tasks in W/tasks.json when `remember`."""
    tasks, entries = plan_tasks(spec, ws, limit, force)
    if remember:
        remember_tasks(ws, entries)
    return tasks
