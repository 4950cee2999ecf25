"""benchmarks/checkpoint_sharing.py on the tiny run: both ways timed each round; the shared run is smaller."""

import pytest
from benchmark_module import load_benchmark

sharing = load_benchmark("checkpoint_sharing")


def test_shared_checkpoints_take_less_disk(tiny_run, tmp_path):
    out = sharing.main(["--source", str(tiny_run / "step-24"), "--train-layers", "1", "--checkpoints", "3",
                        "--repeats", "2"])
    assert all(len(v) == 2 and all(s > 0 for s in v) for v in out["seconds_per_checkpoint"].values())
    assert out["disk_bytes"]["shared"] < 0.8 * out["disk_bytes"]["whole"]
    with pytest.raises(SystemExit):
        sharing.main(["--checkpoints", "1"])


def test_a_trainer_run_with_the_callback_takes_less_disk(tiny_run):
    pytest.importorskip("accelerate")
    out = sharing.main(["--source", str(tiny_run / "step-24"), "--train-layers", "1", "--checkpoints", "3",
                        "--repeats", "1", "--trainer"])
    assert all(len(v) == 1 and v[0] > 0 for v in out["seconds_per_checkpoint"].values())
    assert out["disk_bytes"]["shared"] < out["disk_bytes"]["whole"]
