"""`watch --ray`: checkpoints evaluated side by side on Ray workers are each logged exactly once, and a
restarted watcher redoes nothing."""

from __future__ import annotations

import pytest

from monitor_workspace import copy_checkpoint

pytest.importorskip("ray")


def test_watch_on_ray_logs_each_checkpoint_once(monitor_ws, tiny_run, tmp_path, monkeypatch):
    from probecast.executors.local_cluster import ENV
    from probecast.executors.options import RayOptions
    from probecast.executors.ray_executor import RayExecutor
    from probecast.monitor.evaluator import Monitor, MonitorConfig
    from probecast.monitor.sinks import jsonl_path, read_jsonl
    from probecast.monitor.watcher import WatchConfig, Watcher
    from probecast.workspace import Workspace

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    run = tmp_path / "run"
    run.mkdir()
    steps = sorted(p.name for p in tiny_run.iterdir() if p.is_dir() and p.name.startswith("step-"))
    for name in steps:
        copy_checkpoint(tiny_run / name, run / name)
    executor = RayExecutor(RayOptions(address="local", cpus=1))  # a private Ray on this machine
    try:
        assert executor.concurrent
        cfg = MonitorConfig(probe="ridge", sinks=(), n_boot=50, save_features=True, run_name="r")
        watch = WatchConfig(once=True, settle=0.3)
        assert Watcher(Monitor(monitor_ws, cfg), run, watch, executor=executor).run() == len(steps)
        assert Watcher(Monitor(monitor_ws, cfg), run, watch, executor=executor).run() == 0  # nothing redone
    finally:
        executor.close()
    ws = Workspace(monitor_ws)
    rows = [r for r in read_jsonl(jsonl_path(ws)) if r.get("source") == "watch"]
    keys = [(r["checkpoint"], r["task"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(steps) * 2  # two tasks (monitor_workspace.TASKS)
    assert {r["run"] for r in rows} == {"r"} and all(r["load_s"] > 0 for r in rows)
    for ckpt in {c for c, _ in keys}:  # features stored by the driver, as `extract` writes them
        assert ws.features_path(ckpt, "add").exists() and ws.predictions_path(ckpt, "color", "ridge").exists()
