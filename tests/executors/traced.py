"""Test helper: a unit compute that leaves a trace of every run (which unit, which process, started/finished)."""

from __future__ import annotations

import os
import time
from pathlib import Path


class Traced:
    """Wraps a unit's compute: records each start (unit, pid) as a file in `folder`, waits `delay` seconds (so a
    node can be killed while units run), computes, then records the finish. Shipped to Ray workers by value."""

    def __init__(self, compute, folder: str, delay: float) -> None:
        self.compute, self.folder, self.delay = compute, folder, delay

    def __call__(self, model, tokenizer, ckpt, task):
        import uuid

        tag = f"{ckpt.id}__{task.name}__{os.getpid()}__{uuid.uuid4().hex[:8]}"
        Path(self.folder, f"start__{tag}").touch()
        time.sleep(self.delay)
        out = self.compute(model, tokenizer, ckpt, task)
        Path(self.folder, f"finish__{tag}").touch()
        return out


def trace_events(folder: Path, kind: str) -> list[tuple[str, str, int, str]]:
    """(checkpoint, task, pid, tag) of every `start` or `finish` recorded in `folder`."""
    out = []
    for p in folder.glob(f"{kind}__*"):
        _, ckpt, task, pid, tag = p.name.split("__")
        out.append((ckpt, task, int(pid), tag))
    return out
