"""Two `probecast watch --once` started together on one workspace: the lock lets one of them write, the other
exits 2 with one `error:` line; one record per (checkpoint, task) and one set of tracker files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from monitor_workspace import TASKS
from probecast.monitor.sinks import jsonl_path, read_jsonl
from probecast.workspace import Workspace


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PROBECAST_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "probecast.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_two_watchers_at_once_write_each_record_once(monitor_ws: Path, tiny_run: Path):
    args = ["watch", str(tiny_run), "--ws", str(monitor_ws), "--probe", "ridge", "--once", "--settle", "2",
            "--sinks", "tensorboard", "--n-boot", "200"]
    procs = [start(args), start(args)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs  # both ran at the same time: the second one found the workspace locked
    _, err = outs[[p.returncode for p in procs].index(2)]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: workspace") and "in use by" in lines[0], err
    assert "Traceback" not in err
    counts = Counter((r["checkpoint"], r["task"]) for r in read_jsonl(jsonl_path(Workspace(monitor_ws))))
    assert len(counts) == 3 * len(TASKS.split(",")) and set(counts.values()) == {1}
    tb = monitor_ws / "monitor" / "tensorboard"
    assert len([d for d in tb.iterdir() if d.is_dir()]) == 1
    assert len(list(tb.rglob("events.out.tfevents.*"))) == 1
    # the loser leaves nothing behind; a later watcher finds everything done and adds nothing
    assert not (monitor_ws / ".probecast.lock.json").exists()
    again = start(args)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert len(read_jsonl(jsonl_path(Workspace(monitor_ws)))) == sum(counts.values())
