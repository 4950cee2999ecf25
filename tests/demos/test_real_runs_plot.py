"""benchmarks/real_runs_plot.py: several real-demo runs' movement side by side, from their summary.json."""

import json

import pytest

from benchmark_module import load_benchmark

rp = load_benchmark("real_runs_plot")


def _summary(flipped: float) -> dict:
    return {"train_checkpoints": [0, 5], "test_checkpoints": [10],
            "probes": {"vote": {"auroc_mean": 0.7, "inputs": ["hidden"]},
                       "hybrid": {"auroc_mean": 0.9, "inputs": ["hidden", "answer_loglik"]}},
            "baselines": {"carry_forward": {"auroc_mean": 0.8, "inputs": ["history"]}},
            "demo": {"movement": {"flipped_fraction": flipped},
                     "task_score_by_checkpoint": {"a": {"0": 0.1, "5": 0.3, "10": 0.5}, "b": {"0": 0.2, "10": 0.4}}}}


def test_one_panel_per_run_titled_with_the_split_and_the_best_pure_hidden_probe(tmp_path):
    folders = []
    for i, flipped in enumerate((0.25, 0.1)):
        (tmp_path / f"r{i}").mkdir()
        (tmp_path / f"r{i}" / "summary.json").write_text(json.dumps(_summary(flipped)))
        folders.append(str(tmp_path / f"r{i}"))
    out = rp.main(["--ws", *folders, "--names", "one", "two", "--out", str(tmp_path / "p.png")])
    assert out.stat().st_size > 0
    # the hybrid reads the likelihood, so the pure hidden-state probe named is the vote, below carry_forward
    assert rp.title("one", _summary(0.25)) == "one\nflipped after step 5: 0.250\ncarry_forward 0.800, vote 0.700"


def test_bad_folders_and_names_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit, match="summary.json: cannot read it"):
        rp.main(["--ws", str(tmp_path), "--out", str(tmp_path / "p.png")])
    (tmp_path / "summary.json").write_text(json.dumps({"demo": {}}))
    with pytest.raises(SystemExit, match="no 'task_score_by_checkpoint' key"):
        rp.main(["--ws", str(tmp_path), "--out", str(tmp_path / "p.png")])
    with pytest.raises(SystemExit, match="--names gives 2 titles for 1"):
        rp.main(["--ws", str(tmp_path), "--names", "a", "b"])
