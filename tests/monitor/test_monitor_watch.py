"""`probecast watch` on a folder that receives checkpoints while it runs, and across kill + restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from monitor_workspace import TASKS, copy_checkpoint
from probecast.monitor.sinks import jsonl_path, read_jsonl
from probecast.workspace import Workspace

N_TASKS = len(TASKS.split(","))


def _ckpt(run: Path, step: int) -> Path:
    return run / f"step-{step}"


def _copy_without_weights(src: Path, dst: Path) -> None:
    dst.mkdir()
    for f in src.iterdir():
        if f.name != "model.safetensors":
            shutil.copy2(f, dst / f.name)


def write_half_then_rest(src: Path, dst: Path, pause: float, trainer_state: bool = False) -> None:
    """A checkpoint written in place, slowly: config first, half the weights, a pause, the rest
    (then, HF-style, trainer_state.json last)."""
    _copy_without_weights(src, dst)
    data = (src / "model.safetensors").read_bytes()
    with open(dst / "model.safetensors", "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(pause)
        f.write(data[len(data) // 2:])
    if trainer_state:
        step = int(dst.name.split("-")[-1])
        (dst / "trainer_state.json").write_text(json.dumps({"global_step": step}))


def write_corrupt(src: Path, dst: Path) -> None:
    _copy_without_weights(src, dst)
    (dst / "model.safetensors").write_bytes(os.urandom(4096))


def start_watch(run: Path, ws: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PROBECAST_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "probecast.cli", "watch", str(run), "--ws", str(ws),
                             "--probe", "ridge", "--sinks", "tensorboard", "--n-boot", "200", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def logged(ws: Path) -> Counter:
    return Counter((r["checkpoint"], r["task"]) for r in read_jsonl(jsonl_path(Workspace(ws))))


def fully_logged(ws: Path) -> set[str]:
    per = Counter(c for c, _ in logged(ws))
    return {c for c, n in per.items() if n >= N_TASKS}


def wait_for(cond, timeout: float, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"watcher exited early:\n{proc.stdout.read()}")
        time.sleep(0.2)
    raise AssertionError("timed out")


def state(ws: Path) -> dict:
    return json.loads((ws / "monitor" / "watch" / "ridge.json").read_text())["checkpoints"]


def test_watch_live_folder_logs_every_complete_checkpoint_once(monitor_ws, tiny_run, tmp_path):
    run = tmp_path / "run2"
    run.mkdir()
    proc = start_watch(run, monitor_ws, "--interval", "0.4")
    try:
        copy_checkpoint(_ckpt(tiny_run, 1), run / "step-1")
        time.sleep(1.0)
        write_corrupt(_ckpt(tiny_run, 8), run / "step-16")
        # HF Trainer style: not touched before trainer_state.json appears
        write_half_then_rest(_ckpt(tiny_run, 8), run / "checkpoint-8", pause=2.0, trainer_state=True)
        # no marker: the half file looks stable, fails to load, and is retried once its files change
        write_half_then_rest(_ckpt(tiny_run, 24), run / "step-12", pause=2.5)
        copy_checkpoint(_ckpt(tiny_run, 24), run / "step-24")
        # ids: the workspace already has step-1 / step-24 from another folder, so these get the run's prefix
        expected = {"run2-step-1", "checkpoint-8", "step-12", "run2-step-24"}
        wait_for(lambda: expected <= fully_logged(monitor_ws)
                 and state(monitor_ws).get("step-16", {}).get("status") == "failed", 150, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    counts = logged(monitor_ws)
    assert {c for c, _ in counts} == expected, out
    assert set(counts.values()) == {1} and len(counts) == len(expected) * N_TASKS
    st = state(monitor_ws)
    assert {k for k, v in st.items() if v["status"] == "done"} == expected
    assert "step-16" in out and "cannot be read" in out
    # features and per-question predictions are stored in the workspace like `extract` / `predict` do
    ws = Workspace(monitor_ws)
    assert ws.features_path("checkpoint-8", "add").exists()
    assert ws.predictions_path("run2-step-24", "color", "ridge").exists()
    assert {"checkpoint-8", "run2-step-24"} <= {r["id"] for r in ws.read_checkpoints()}
    rec = next(r for r in read_jsonl(jsonl_path(ws)) if r["checkpoint"] == "checkpoint-8")
    assert rec["step"] == 8 and rec["pred_pass1_lo"] <= rec["pred_pass1"] <= rec["pred_pass1_hi"]


def test_watch_kill_and_restart_loses_and_repeats_nothing(monitor_ws, tiny_run, tmp_path):
    run = tmp_path / "run2"
    run.mkdir()
    for step in (1, 8, 24):
        copy_checkpoint(_ckpt(tiny_run, step), run / f"step-{step}")
    proc = start_watch(run, monitor_ws, "--interval", "0.3")
    try:
        wait_for(lambda: len(fully_logged(monitor_ws)) >= 1, 120, proc)
    finally:
        proc.kill()  # SIGKILL: no chance to clean up
        proc.communicate(timeout=30)
    ws = Workspace(monitor_ws)
    done = fully_logged(monitor_ws)
    # the two windows a kill can hit, made deterministic:
    # (a) records appended but the state not yet written -> the restart must not redo the checkpoint
    st_path = monitor_ws / "monitor" / "watch" / "ridge.json"
    st = json.loads(st_path.read_text()) if st_path.exists() else {"checkpoints": {}}  # killed before it
    forgotten = sorted(done)[0]
    st["checkpoints"].pop(forgotten, None)
    st_path.parent.mkdir(parents=True, exist_ok=True)
    st_path.write_text(json.dumps(st))
    # (b) killed in the middle of appending an evaluation of a new checkpoint -> it must be redone, once
    copy_checkpoint(_ckpt(tiny_run, 8), run / "step-30")
    whole = {"checkpoint": "step-30", "step": 30, "task": "add", "pred_pass1": 0.5, "probe": "ridge",
             "source": "watch", "eval_id": "killed", "n_records": N_TASKS}
    with open(jsonl_path(ws), "a") as f:
        f.write(json.dumps(whole) + "\n" + json.dumps({**whole, "task": "color"})[:25])

    proc = start_watch(run, monitor_ws, "--once", "--settle", "0.5")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    counts = logged(monitor_ws)
    assert {c for c, _ in counts} == {"run2-step-1", "run2-step-8", "run2-step-24", "step-30"}, out
    assert set(counts.values()) == {1}, counts
    assert all(r.get("eval_id") != "killed" for r in read_jsonl(jsonl_path(ws)))
    assert jsonl_path(ws).read_text().endswith("\n")
    assert f"{forgotten}: already in the log" in " ".join(out.split())


def test_watch_skips_a_deleted_checkpoint_and_retries_a_rewritten_corrupt_one(monitor_ws, tiny_run, tmp_path):
    from probecast.monitor.evaluator import Monitor, MonitorConfig
    from probecast.monitor.watcher import WatchConfig, Watcher

    run = tmp_path / "run3"
    run.mkdir()
    copy_checkpoint(_ckpt(tiny_run, 8), run / "step-8")
    write_corrupt(_ckpt(tiny_run, 24), run / "step-24")
    watcher = Watcher(Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=(), n_boot=50)), run,
                      WatchConfig(interval=0, max_polls=1))
    watcher.ready()
    ready = {f.name: (f, s, i) for f, s, i in watcher.ready()}
    assert set(ready) == {"step-8", "step-24"}
    shutil.rmtree(run / "step-8")  # deleted between detection and evaluation
    assert watcher.process(*ready["step-8"]) is False
    assert watcher.process(*ready["step-24"]) is False
    st = watcher.state.checkpoints
    assert "run3-step-8" not in st and st["run3-step-24"]["status"] == "failed"
    assert watcher.ready() == []  # unchanged corrupt checkpoint: not retried
    shutil.copy2(_ckpt(tiny_run, 24) / "model.safetensors", run / "step-24" / "model.safetensors")
    watcher.ready()
    again = watcher.ready()
    assert [i for _, _, i in again] == ["run3-step-24"]
    assert watcher.process(*again[0]) is True
    assert watcher.state.is_done("run3-step-24")
    watcher.monitor.close()


@pytest.mark.parametrize("marker", ["trainer_state", "latest", "glob"])
def test_completion_markers(tmp_path, tiny_run, marker):
    from probecast.monitor.completeness import ReadyRule, StabilityTracker, marker_ready

    run = tmp_path / "run"
    run.mkdir()
    folder = run / "global_step8"
    copy_checkpoint(_ckpt(tiny_run, 8), folder)
    rule = ReadyRule(marker=marker, glob="*.done" if marker == "glob" else None)
    assert marker_ready(folder, 8, run, rule)[0] is False
    {"trainer_state": lambda: (folder / "trainer_state.json").write_text("{}"),
     "latest": lambda: (run / "latest").write_text("global_step8"),
     "glob": lambda: (folder / "save.done").write_text("")}[marker]()
    assert marker_ready(folder, 8, run, rule)[0] is True
    if marker == "latest":
        assert marker_ready(folder, 9, run, rule)[0] is False  # a later step is not covered yet
    tracker = StabilityTracker()
    assert tracker.observe(folder)[0] is False and tracker.observe(folder)[0] is True
    (folder / "extra.bin").write_bytes(b"x")
    assert tracker.observe(folder)[0] is False


def test_a_finished_watch_releases_the_kept_states(monitor_ws, tmp_path):
    """The shared-prefix states (up to 4 GiB) and their check go with the watch, not with the Python process."""
    from probecast.features.shared_prefix import process_states
    from probecast.monitor.evaluator import Monitor, MonitorConfig
    from probecast.monitor.watcher import WatchConfig, Watcher

    states = process_states()
    states.reference, states.depth, states.tasks, states.disabled = ("h",), 3, {("t", ""): object()}, "off"
    (tmp_path / "empty").mkdir()
    Watcher(Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=(), n_boot=50)), tmp_path / "empty",
            WatchConfig(interval=0, max_polls=1)).run()
    assert states.reference is None and states.tasks == {} and states.disabled is None


def test_a_recorded_checkpoint_of_the_same_name_without_a_path_is_not_this_folder(monitor_ws, tmp_path):
    from probecast.monitor.evaluator import Monitor, MonitorConfig
    from probecast.monitor.watcher import WatchConfig, Watcher

    run = tmp_path / "myrun"
    (run / "step-7").mkdir(parents=True)
    ws = Workspace(monitor_ws)
    ws.checkpoints_file.write_text(json.dumps([{"id": "step-7", "step": 7}]))  # no path: hand-written, another tool
    w = Watcher(Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=(), n_boot=50)), run, WatchConfig(interval=0))
    assert w.checkpoint_id(run / "step-7") == "myrun-step-7"  # was a KeyError traceback
    ws.add_checkpoints([{"id": "step-7", "step": 7, "path": str(run / "step-7")}])
    assert w.checkpoint_id(run / "step-7") == "step-7"
