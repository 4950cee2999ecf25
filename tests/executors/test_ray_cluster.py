"""`--ray` against a real two-node Ray cluster on 127.0.0.1 (`ray start --head --num-cpus 1` + one
`ray start --address ... --num-cpus 1`): the workspace equals the single-process run's; a node SIGKILLed while
units run loses nothing and recomputes nothing that was finished before."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("ray")

import traced  # noqa: E402
from traced import Traced, trace_events  # noqa: E402

from probecast.executors import local_cluster  # noqa: E402
from probecast.executors.local_cluster import LocalRayCluster  # noqa: E402

ARGS = ["--tasks", "add,color", "--limit", "6"]
LABEL = ["--samples", "2", "--batch-size", "16"]
EXTRACT = ["--tail-tokens", "2", "--batch-size", "16"]


@pytest.fixture(scope="module")
def cluster():
    c = LocalRayCluster().start(workers=1)
    try:
        yield c
    finally:
        c.stop()


def _cli(args: list[str]) -> str:
    """The CLI in a child process (the Ray driver), bounded in time."""
    exe = Path(sys.executable).with_name("probecast")
    env = {**os.environ, **local_cluster.ENV}
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_label_and_extract_on_two_nodes_equal_single_process(cluster, run4, tmp_path):
    from safetensors import safe_open

    from probecast.cli import app

    single, dist = tmp_path / "single", tmp_path / "ray"
    runner = CliRunner()
    for cmd in (["label", str(run4), "--ws", str(single), *ARGS, *LABEL, "--threads", "1"],
                ["extract", "--ws", str(single), *EXTRACT, "--threads", "1"]):
        res = runner.invoke(app, cmd)
        assert res.exit_code == 0, res.output
    _cli(["label", str(run4), "--ws", str(dist), *ARGS, *LABEL, "--ray", cluster.address])
    assert "extracted 8 checkpoint × task blocks" in _cli(["extract", "--ws", str(dist), *EXTRACT, "--ray",
                                                           cluster.address])

    assert _files(single) == _files(dist)
    labels = sorted(p for p in _files(single) if p.startswith("labels/"))
    features = sorted(p for p in _files(single) if p.startswith("features/"))
    assert len(labels) == len(features) == 4 * 2
    for rel in labels:
        pd.testing.assert_frame_equal(pd.read_parquet(single / rel), pd.read_parquet(dist / rel))
    for rel in features:
        with safe_open(str(single / rel), "numpy") as a, safe_open(str(dist / rel), "numpy") as b:
            assert set(a.keys()) == set(b.keys())
            for k in a.keys():
                np.testing.assert_allclose(a.get_tensor(k).astype(np.float32), b.get_tensor(k).astype(np.float32),
                                           rtol=1e-3, atol=1e-3)
            skip = {"wall_time_s"}
            assert {k: v for k, v in a.metadata().items() if k not in skip} == \
                   {k: v for k, v in b.metadata().items() if k not in skip}


def test_node_sigkilled_mid_run_loses_and_recomputes_nothing(cluster, run4, tmp_path, monkeypatch):
    import ray

    from probecast.checkpoints import discover_checkpoints
    from probecast.executors.options import RayOptions
    from probecast.executors.ray_executor import RayExecutor
    from probecast.features.extract import ExtractConfig
    from probecast.features.workspace_features import extract_job
    from probecast.pipeline import for_each_checkpoint
    from probecast.tasks import load_tasks
    from probecast.workspace import Workspace

    for k, v in local_cluster.ENV.items():  # this process is the driver
        monkeypatch.setenv(k, v)
    ray.cloudpickle.register_pickle_by_value(traced)  # the tracer is test code: ship it by value
    victim = cluster.nodes[1]  # the second node dies (this test comes last in the module)
    ws = Workspace(tmp_path / "ws")
    trace = tmp_path / "trace"
    trace.mkdir()
    ckpts, tasks = discover_checkpoints(run4), load_tasks("add,color", limit=6)
    job = extract_job(ws, ExtractConfig(tail_tokens=0, batch_size=16))
    job = replace(job, compute=Traced(job.compute, str(trace), delay=2.0))
    at_kill: dict = {}

    def kill_when_busy() -> None:  # once a unit is written and another runs on the victim
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            written = {p: p.stat().st_mtime_ns for p in (ws.root / "features").glob("*/*.safetensors")} \
                if (ws.root / "features").is_dir() else {}
            finished = {t for *_, t in trace_events(trace, "finish")}
            running = [(c, t, pid) for c, t, pid, tag in trace_events(trace, "start")
                       if tag not in finished and pid in on_victim(pid)]
            if written and running:
                cluster.kill(victim)
                at_kill.update(written=written, running=running)
                return
            time.sleep(0.1)

    def on_victim(pid: int) -> set[int]:  # Ray workers are the victim's descendants
        return set(local_cluster.descendants(victim.pid))

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    executor = RayExecutor(RayOptions(address=cluster.address, max_retries=3))
    try:
        n = for_each_checkpoint(ckpts, tasks, job, executor=executor, progress=False)
        killer.join(timeout=5)
        assert at_kill, "no unit ran on the victim node while another was already written"

        # the job completed: every unit has exactly one result, and no temporary file is left behind
        assert n == len(ckpts) * len(tasks)
        files = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*") if p.is_file())
        assert files == sorted(ws.features_path(c.id, t.name).relative_to(ws.root) for c in ckpts for t in tasks)
        starts = pd.DataFrame(trace_events(trace, "start"), columns=["ckpt", "task", "pid", "tag"])
        runs = starts.groupby(["ckpt", "task"]).size()
        # nothing written before the kill was recomputed (one start) nor rewritten (same file)
        for path, mtime in at_kill["written"].items():
            assert runs[(path.parent.name, path.stem)] == 1, path
            assert path.stat().st_mtime_ns == mtime, path
        # the units the dead node was running were run again on the surviving node
        for c, t, _ in at_kill["running"]:
            assert runs[(c, t)] >= 2, (c, t)

        # a re-submitted job runs only what is missing
        lost = [ws.features_path(ckpts[0].id, tasks[0].name), ws.features_path(ckpts[-1].id, tasks[1].name)]
        for p in lost:
            p.unlink()
        n_starts = len(starts)
        assert for_each_checkpoint(ckpts, tasks, job, executor=executor, progress=False) == 2
        assert len(trace_events(trace, "start")) == n_starts + 2 and all(p.exists() for p in lost)
    finally:
        executor.close()
