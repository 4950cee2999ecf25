"""When is a checkpoint folder that a training run is writing complete?

A checkpoint is ready when (1) it has a config and a weights file, (2) its files are *stable*: the same
names, sizes and modification times on two consecutive polls, and (3) the framework's completion marker says
so, where there is one:

- `trainer_state`: HF Trainer writes `trainer_state.json` after the weights and optimizer state; `auto` uses
  it for `checkpoint-N` folders (the Trainer's naming).
- `latest`: DeepSpeed writes a `latest` file (a tag such as `global_step1200`) and Megatron
  `latest_checkpointed_iteration.txt` (a number) in the run folder after a checkpoint is complete; a
  checkpoint is ready once the named step is >= its own. `auto` uses it when the run folder has one.
- `glob`: a user pattern, relative to the checkpoint folder, that must match a file (e.g. `*.done`).
- `none`: stability alone (enough for writers that rename a finished folder into place, like probecast's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from probecast.checkpoints.discover import step_from_name
from probecast.errors import ProbecastError

MARKERS = ("auto", "trainer_state", "latest", "glob", "none")
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
LATEST_FILES = ("latest", "latest_checkpointed_iteration.txt")

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ReadyRule:
    marker: str = "auto"
    glob: str | None = None  # with marker "glob"

    def __post_init__(self) -> None:
        if self.marker not in MARKERS:
            raise ProbecastError(f"--marker {self.marker!r}: choose one of {list(MARKERS)}")
        if self.marker == "glob" and not self.glob:
            raise ProbecastError("--marker glob needs --ready-glob PATTERN (relative to the checkpoint folder)")


def candidates(run_dir: Path) -> list[tuple[Path, int]]:
    """Checkpoint-like sub-folders (step-N, checkpoint-N, global_stepN, iter_N, ...) with their step, by step.
    Hidden folders (a writer's temporary `.tmp-*`) are ignored."""
    out = []
    try:
        children = list(run_dir.iterdir())
    except FileNotFoundError:
        return []
    for child in children:
        if child.name.startswith(".") or not child.is_dir():
            continue
        step = step_from_name(child.name)
        if step is not None:
            out.append((child, step))
    return sorted(out, key=lambda x: (x[1], x[0].name))


def signature(folder: Path) -> Signature | None:
    """(relative path, size, mtime_ns) of every file, sorted; None when the folder is gone."""
    try:
        items = []
        for p in folder.rglob("*"):
            if p.is_file():
                st = p.stat()
                items.append((str(p.relative_to(folder)), st.st_size, st.st_mtime_ns))
        return tuple(sorted(items))
    except FileNotFoundError:
        return None


def latest_step(run_dir: Path) -> int | None:
    """The step named by the run's `latest` marker file, or None when there is none (or it is unreadable)."""
    for name in LATEST_FILES:
        path = run_dir / name
        if path.is_file():
            try:
                text = path.read_text().strip()
            except OSError:
                return None
            m = re.search(r"(\d+)\s*$", text)
            return int(m.group(1)) if m else None
    return None


def marker_ready(folder: Path, step: int, run_dir: Path, rule: ReadyRule) -> tuple[bool, str]:
    """(ready, why not) for everything except stability."""
    if not (folder / "config.json").is_file():
        return False, "no config.json yet"
    if not any((folder / w).is_file() for w in WEIGHTS):
        return False, "no weights file yet"
    marker = rule.marker
    if marker == "auto":
        if folder.name.startswith("checkpoint-"):
            marker = "trainer_state"
        elif any((run_dir / n).is_file() for n in LATEST_FILES):
            marker = "latest"
        else:
            marker = "glob" if rule.glob else "none"
    if marker == "trainer_state" and not (folder / "trainer_state.json").is_file():
        return False, "no trainer_state.json yet"
    if marker == "latest":
        latest = latest_step(run_dir)
        if latest is None or latest < step:
            return False, f"the run's latest marker names step {latest}"
    if marker == "glob" and not any(folder.glob(rule.glob)):
        return False, f"nothing matches {rule.glob!r} yet"
    return True, ""


class StabilityTracker:
    """Remembers each folder's signature from the previous poll; stable = unchanged since then."""

    def __init__(self) -> None:
        self.previous: dict[str, Signature | None] = {}

    def observe(self, folder: Path) -> tuple[bool, Signature | None]:
        sig = signature(folder)
        key = str(folder)
        stable = sig is not None and len(sig) > 0 and self.previous.get(key) == sig
        self.previous[key] = sig
        return stable, sig
