"""Resolve task names to `Task`s: an explicit registry, no import magic.

A spec is a comma-separated list of: `synthetic` (the whole built-in suite, few-shot prompts),
`synthetic-0shot` (the same questions with bare prompts), a synthetic task name (`add`, `synthetic:add`),
`gsm8k`, `piqa` (read from the shared data folder), or a path to a task JSONL file.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from probecast.errors import ProbecastError
from probecast.tasks.loaders import load_gsm8k, load_jsonl_task, load_piqa
from probecast.tasks.schema import Task
from probecast.tasks.synthetic import SPECS, SyntheticSuite


def shared_data_dir() -> Path | None:
    """`$PROBECAST_DATA_DIR`, else `../shared/data` next to the project (searched upward from the cwd)."""
    env = os.environ.get("PROBECAST_DATA_DIR")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for p in [here, *here.parents]:
        cand = p.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


def _benchmark_dir(name: str) -> Path:
    root = shared_data_dir()
    if root is None or not (root / "benchmarks" / name).is_dir():
        raise ProbecastError(f"task {name!r} needs ../shared/data/benchmarks/{name}/ (or set PROBECAST_DATA_DIR "
                             f"to the folder holding benchmarks/)")
    return root / "benchmarks" / name


BENCHMARKS: dict[str, Callable[[int | None], Task]] = {
    "gsm8k": lambda limit: load_gsm8k(_benchmark_dir("gsm8k"), limit=limit),
    "piqa": lambda limit: load_piqa(_benchmark_dir("piqa"), limit=limit),
}


ZERO_SHOT = "synthetic-0shot"  # the suite with bare prompts (no few-shot examples), as measured before they existed


def task_names() -> list[str]:
    return ["synthetic", ZERO_SHOT, *SPECS, *BENCHMARKS]


def load_tasks(spec: str | Sequence[str], limit: int | None = None, synthetic: SyntheticSuite | None = None) -> list[Task]:
    """Tasks named by `spec`; `limit` caps questions per task (a deterministic subset)."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise ProbecastError("no task given; use e.g. --tasks synthetic, --tasks add,copy or --tasks my_task.jsonl")
    suite = synthetic or SyntheticSuite()
    tasks: list[Task] = []
    for item in items:
        name = item.removeprefix("synthetic:")
        if item == "synthetic":
            tasks.extend(t.subset(limit) for t in suite.tasks())
        elif item == ZERO_SHOT:
            tasks.extend(t.subset(limit) for t in replace(suite, context_budget=0).tasks())
        elif name in SPECS:
            tasks.append(suite.task(name).subset(limit))
        elif item in BENCHMARKS:
            tasks.append(BENCHMARKS[item](limit))
        elif item.endswith(".jsonl") or Path(item).is_file():
            tasks.append(load_jsonl_task(item).subset(limit))
        else:
            raise ProbecastError(f"unknown task {item!r}; choose from {task_names()} or give a .jsonl task file")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ProbecastError(f"task names repeat in {items}: {names}")
    return tasks
