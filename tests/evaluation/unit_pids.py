"""Test helper: proof that in-checkpoint units really ran in worker processes (`InCheckpointConfig.n_jobs`).

`record_unit_pids(monkeypatch, folder)` replaces `in_checkpoint._unit` by a `PidRecorder`: each unit leaves a file
naming the process it ran in, then returns the real unit's frame unchanged (the figures are not touched). The
recorder is a module-level class, so joblib/loky ships it to the workers by reference and they import this module
themselves (a monkeypatch in the parent alone would not reach them; loky hands the workers the parent's sys.path).

A worker waits (at most `wait` seconds, once per folder) until a second worker has started a unit too, so the test
does not hinge on which worker happened to start first and drain the queue alone; a unit run in the parent (the
one-process path, or n_jobs ignored) never waits.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from probecast.evaluation import in_checkpoint

_REAL_UNIT = in_checkpoint._unit  # taken at import, before any patch: the parent's recorder must not call itself


class PidRecorder:
    def __init__(self, folder: str, parent: int, wait: float = 15.0) -> None:
        self.folder, self.parent, self.wait = folder, parent, wait

    def __call__(self, *args, **kwargs):
        pid = os.getpid()
        Path(self.folder, f"unit__{pid}__{uuid.uuid4().hex[:8]}").touch()
        if pid != self.parent:
            gave_up = Path(self.folder, "gave_up")
            deadline = time.monotonic() + self.wait
            while len(worker_pids(Path(self.folder), self.parent)) < 2 and not gave_up.exists():
                if time.monotonic() > deadline:
                    gave_up.touch()  # one timeout at most: the test then fails on the pid count, not by hanging
                    break
                time.sleep(0.02)
        return _REAL_UNIT(*args, **kwargs)


def unit_pids(folder: Path) -> list[int]:
    """The pid of every unit recorded in `folder`, one entry per unit."""
    return [int(p.name.split("__")[1]) for p in Path(folder).glob("unit__*")]


def worker_pids(folder: Path, parent: int) -> set[int]:
    return set(unit_pids(folder)) - {parent}


def record_unit_pids(monkeypatch, folder: Path) -> Path:
    """Patch `in_checkpoint._unit` so that every unit records its pid in `folder` (created); returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(in_checkpoint, "_unit", PidRecorder(str(folder), os.getpid()))
    return folder
