"""benchmarks/in_checkpoint_seeds.py: the in-checkpoint protocol repeated over outer fold seeds."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "report"))
from report_workspace import planted_workspace  # noqa: E402

from benchmark_module import load_benchmark  # noqa: E402
from unit_pids import record_unit_pids, unit_pids  # noqa: E402

seeds_bench = load_benchmark("in_checkpoint_seeds")


def test_seeds_move_the_folds_and_the_planted_signal_survives_them(tmp_path, monkeypatch):
    ws = planted_workspace(tmp_path / "ws", n_questions=30)
    here = record_unit_pids(monkeypatch, tmp_path / "one")
    out = seeds_bench.main(["--ws", str(ws.root), "--seeds", "2", "--folds", "3", "--methods", "linear,ridge",
                            "--min-questions", "20"])
    n_units = len(unit_pids(here))
    assert n_units >= 4 and set(unit_pids(here)) == {os.getpid()}  # seeds x methods x checkpoints, in this process
    for m in ("linear", "ridge"):
        assert len(out[m]["mean"]) == 2 and set(out[m]["by_task"]) == {"add", "copy"}
        assert min(out[m]["mean"]) > 0.7  # the planted layer is found whatever the folds
    assert out["linear"]["mean"][0] != out["linear"]["mean"][1]  # another seed, other folds
    workers = record_unit_pids(monkeypatch, tmp_path / "two")
    two = seeds_bench.main(["--ws", str(ws.root), "--seeds", "2", "--folds", "3", "--methods", "linear,ridge",
                            "--min-questions", "20", "--jobs", "2"])
    assert two["linear"]["mean"] == out["linear"]["mean"]  # units in two processes: the same figures
    pids = unit_pids(workers)  # and --jobs 2 was not ignored: every unit ran outside this process, in two workers
    assert len(pids) == n_units and os.getpid() not in pids and len(set(pids)) == 2, pids


def test_bad_workspace_is_one_line_and_exit_2(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "in_checkpoint_seeds.py"), "--ws", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: no matching features")
    assert len(r.stderr.strip().splitlines()) == 1


def test_earlier_later_protocol_redraws_the_held_out_questions(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=30)
    out = seeds_bench.main(["--ws", str(ws.root), "--seeds", "2", "--protocol", "earlier-later",
                            "--train-checkpoints", "2", "--methods", "ridge,carry_forward"])
    assert len(out["ridge"]["mean"]) == len(out["ridge"]["task_err"]) == 2
    assert all(0 <= a <= 1 for a in out["ridge"]["mean"]) and all(e >= 0 for e in out["ridge"]["task_err"])
    assert out["ridge"]["mean"][0] != out["ridge"]["mean"][1]  # other held-out questions


def test_seed_0_reproduces_the_recorded_in_checkpoint_block_with_its_parameters(tmp_path):
    """The benchmark runs each method with the parameters the workspace's in-checkpoint block recorded (the real
    demo's pooling, the vote's members'), so its seed 0 is the demo's own figure; before session 29 it used the
    protocol's defaults and its `vote` read 0.767 where the demo's table says 0.804."""
    from probecast.evaluation.in_checkpoint import InCheckpointConfig
    from probecast.evaluation.pipeline import in_checkpoint_workspace, write_in_checkpoint

    ws = planted_workspace(tmp_path / "ws", n_questions=30)
    given = {"ridge": {"l2_grid": [1e4]}, "linear": {"layer": 0}}  # far from the defaults
    block = in_checkpoint_workspace(ws, ["ridge", "linear"], InCheckpointConfig(n_folds=3), given, show_progress=False)
    write_in_checkpoint(ws, block)
    out = seeds_bench.main(["--ws", str(ws.root), "--seeds", "1", "--folds", "3", "--methods", "ridge,linear"])
    for m in ("ridge", "linear"):
        assert out[m]["mean"][0] == block["methods"][m]["auroc_mean"]
    default = seeds_bench.main(["--ws", str(ws.root), "--seeds", "1", "--folds", "3", "--methods", "linear",
                                "--param", "linear.layer=null"])  # --param still goes on top
    assert default["linear"]["mean"][0] != block["methods"]["linear"]["auroc_mean"]
