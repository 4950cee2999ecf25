"""The executor protocol and the checkpoint × task loop on the local executor (no Ray needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probecast.errors import ProbecastError


def test_failed_unit_is_reported_and_the_others_are_written(run4, tmp_path):
    from probecast.checkpoints import discover_checkpoints
    from probecast.features.extract import ExtractConfig
    from probecast.features.workspace_features import extract_job
    from probecast.pipeline import for_each_checkpoint
    from probecast.tasks import load_tasks
    from probecast.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    ckpts, tasks = discover_checkpoints(run4)[:2], load_tasks("add,color", limit=4)
    job = extract_job(ws, ExtractConfig(tail_tokens=0))
    bad = (ckpts[1].id, "color")

    def compute(model, tokenizer, ckpt, task):
        if (ckpt.id, task.name) == bad:
            raise RuntimeError("out of memory")
        return job.compute(model, tokenizer, ckpt, task)

    with pytest.raises(ProbecastError, match=rf"1 of 4 .*{bad[0]} / color: RuntimeError: out of memory"):
        for_each_checkpoint(ckpts, tasks, replace(job, compute=compute), progress=False)
    written = {(p.parent.name, p.stem) for p in (ws.root / "features").glob("*/*.safetensors")}
    assert written == {(c.id, t.name) for c in ckpts for t in tasks} - {bad}
    # a rerun does only the missing unit
    assert for_each_checkpoint(ckpts, tasks, job, progress=False) == 1


def test_local_executor_runs_lazily_in_submission_order():
    from probecast.executors import call, make_executor, map_units

    ex = make_executor()
    ran = []
    out = list(map_units(ex, lambda x: ran.append(x) or x * 2, [(1,), (2,), (3,)]))
    assert out == [(0, 2, None), (1, 4, None), (2, 6, None)] and ran == [1, 2, 3]
    h = ex.submit(ran.append, 9)
    assert ran == [1, 2, 3]  # nothing runs before it is waited for
    assert ex.wait([h])[0][2] is None and ran[-1] == 9
    assert ex.wait([ex.submit(lambda: 1 / 0)])[0][2] == "ZeroDivisionError: division by zero"
    with pytest.raises(ProbecastError, match="failed on this process: ZeroDivisionError"):
        call(ex, lambda: 1 / 0)


@pytest.mark.parametrize("args, message", [
    (["--ray", "local", "--ray-cpus", "0"], "--ray-cpus 0.0: must be > 0"),
    (["--ray", " "], "--ray: give `local`, `auto` or HOST:PORT"),
])
def test_bad_ray_options_are_one_line_errors(tmp_path, capsys, args, message):
    from probecast.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["extract", "--ws", str(tmp_path / "ws"), "--tasks", "add", *args])
    assert exit_.value.code == 2 and f"error: {message}" in capsys.readouterr().err
