"""One writer per workspace: a second writing command exits 2 at once with one line naming the holder, and
leaves the workspace as it was; two `label` processes started together label each pair once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from probecast.lock import HOLDER_FILE, LOCK_FILE, workspace_lock


def probecast(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PROBECAST_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "probecast.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def snapshot(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_lock_is_exclusive_across_processes_and_released(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    with workspace_lock(ws, "probecast watch run --ws ws"):
        assert (ws / HOLDER_FILE).exists()
        before = snapshot(ws)
        for args in (["label", "--ws", ws, "--tasks", "add"], ["evaluate", "--ws", ws], ["extract", "--ws", ws]):
            proc = probecast(*args)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 2, (args, err)
            assert err.count("\n") == 1 and err.startswith(f"error: workspace {ws} is in use by "
                                                           f"`probecast watch run --ws ws` (pid {os.getpid()}"), err
            assert snapshot(ws) == before
    assert not (ws / HOLDER_FILE).exists() and (ws / LOCK_FILE).exists()
    with workspace_lock(ws, "again"):  # released: can be taken again
        pass


def test_failed_command_on_a_new_workspace_leaves_no_folder(tmp_path):
    ws = tmp_path / "new"
    proc = probecast("label", "--ws", ws, "--tasks", "no_such_task")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert not ws.exists()


def test_two_label_processes_at_once_label_each_pair_once(tiny_run, tmp_path):
    ws = tmp_path / "ws"
    args = ["label", tiny_run, "--ws", ws, "--tasks", "add", "--limit", "6", "--samples", "2", "--no-greedy"]
    procs = [probecast(*args), probecast(*args)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], outs
    err = outs[[p.returncode for p in procs].index(2)][1]
    assert err.startswith("error: workspace") and "in use by `probecast label" in err and err.count("\n") == 1
    files = sorted((ws / "labels").glob("*/*.parquet"))
    assert len(files) == 3
    df = pd.concat(pd.read_parquet(f) for f in files)
    assert not df.duplicated(["checkpoint", "task", "question_id"]).any() and len(df) == 3 * 6
    ids = [r["id"] for r in __import__("json").loads((ws / "checkpoints.json").read_text())]
    assert sorted(ids) == ["step-1", "step-24", "step-8"]


def test_the_holder_is_named_even_when_it_has_just_taken_the_lock(tmp_path):
    """The holder writes who it is right after taking the lock; a second command that arrives in between waits
    for that file (briefly) instead of naming 'another probecast command'."""
    import json
    import threading
    import time

    from probecast.lock import HOLDER_FILE, _holder

    def write_later():
        time.sleep(0.2)
        (tmp_path / HOLDER_FILE).write_text(json.dumps({"command": "probecast label x", "pid": 1, "host": "h",
                                                         "since": 0}))

    t = threading.Thread(target=write_later)
    t.start()
    try:
        assert "`probecast label x` (pid 1 on h" in _holder(tmp_path)
    finally:
        t.join()
    assert _holder(tmp_path / "nowhere", wait=0.1) == "another probecast command"
