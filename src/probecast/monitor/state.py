"""The watcher's memory, kept in the workspace so a restarted watcher neither repeats nor skips a checkpoint.

W/monitor/watch/<probe>.json: {"checkpoints": {id: {"status": "done" | "failed", "step", "path",
"signature" (failed only), "error" (failed only), "time"}}}, written atomically after every change.

The JSONL log is the commit point: a checkpoint's records are appended in one write *before* it is marked
done here, so a watcher killed in between finds the records on restart (`reconcile`) and marks the
checkpoint done instead of logging it twice. A failed checkpoint is retried only when its files change.
"""

from __future__ import annotations

import time
from pathlib import Path

from probecast.io import write_json_atomic
from probecast.monitor.sinks import jsonl_path, read_jsonl
from probecast.stored import read_json
from probecast.workspace import Workspace, safe_name


class WatchState:
    def __init__(self, ws: Workspace, probe: str) -> None:
        self.ws, self.probe = ws, probe
        self.path = ws.monitor_dir / "watch" / f"{safe_name(probe)}.json"
        self.data = read_json(self.path, dict) if self.path.exists() else {"checkpoints": {}}

    @property
    def checkpoints(self) -> dict[str, dict]:
        return self.data["checkpoints"]

    def is_done(self, ckpt_id: str) -> bool:
        return self.checkpoints.get(ckpt_id, {}).get("status") == "done"

    def failed_unchanged(self, ckpt_id: str, sig) -> bool:
        entry = self.checkpoints.get(ckpt_id, {})
        return entry.get("status") == "failed" and entry.get("signature") == _jsonable(sig)

    def n_done(self) -> int:
        return sum(1 for e in self.checkpoints.values() if e.get("status") == "done")

    def mark_done(self, ckpt_id: str, step: int, path: str | Path) -> None:
        self.checkpoints[ckpt_id] = {"status": "done", "step": int(step), "path": str(path), "time": time.time()}
        self.save()

    def mark_failed(self, ckpt_id: str, step: int, path: str | Path, sig, error: str) -> None:
        self.checkpoints[ckpt_id] = {"status": "failed", "step": int(step), "path": str(path),
                                     "signature": _jsonable(sig), "error": error, "time": time.time()}
        self.save()

    def reconcile(self, tasks: list[str]) -> list[str]:
        """Mark done every checkpoint whose records (all tasks, this probe, logged by the watcher) are in the
        JSONL log but not yet here; returns their ids."""
        seen: dict[str, set] = {}
        steps: dict[str, int] = {}
        for r in read_jsonl(jsonl_path(self.ws)):
            if r.get("source") == "watch" and r.get("probe") == self.probe:
                seen.setdefault(r["checkpoint"], set()).add(r["task"])
                steps[r["checkpoint"]] = int(r["step"])
        fixed = [c for c, t in seen.items() if set(tasks) <= t and not self.is_done(c)]
        for c in fixed:
            self.checkpoints[c] = {"status": "done", "step": steps[c], "path": "", "time": time.time(),
                                   "recovered_from_log": True}
        if fixed:
            self.save()
        return fixed

    def save(self) -> None:
        write_json_atomic(self.path, self.data)


def _jsonable(sig):
    return None if sig is None else [list(x) for x in sig]
