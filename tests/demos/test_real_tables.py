"""benchmarks/real_tables.py: the README's three real-demo tables, written from summary.json as stored."""

import json

import pytest

from benchmark_module import load_benchmark

rt = load_benchmark("real_tables")


def _summary() -> dict:
    method = {"auroc_mean": 0.7, "auroc_by_task": {"a": 0.6, "b": 0.8}, "auroc_ci": [0.6, 0.8], "inputs": ["hidden"],
              "task_abs_err_mean": 0.05}
    return {"tasks": ["b", "a"], "train_checkpoints": [0, 5], "test_checkpoints": [10], "best_probe": "p",
            "probes": {"p": method, "q": {**method, "auroc_mean": 0.9, "auroc_by_task": {"a": float("nan")}}},
            "baselines": {"carry_forward": {**method, "inputs": ["history"], "auroc_mean": 0.65}},
            "in_checkpoint": {"protocol": {"n_folds": 5, "seed": 0}, "methods": {"p": method}},
            "demo": {"movement": {"n_checkpoints": 3, "tasks_rising_0.2": 1, "flipped_fraction": 0.25,
                                  "best_minus_worst": 0.5},
                     "task_score_by_checkpoint": {"a": {"0": 0.1, "10": 0.5}, "b": {"0": 0.2, "5": 0.3, "10": 0.4}}}}


def test_tables_rank_by_mean_and_mark_what_is_missing():
    text = rt.tables(_summary())
    lines = text.splitlines()
    assert "| a | 0.10 | – | 0.50 |" in lines  # a checkpoint without a figure is a dash
    later = [ln for ln in lines if ln.startswith("| q (probe)") or ln.startswith("| p (probe)")
             or ln.startswith("| carry_forward")]
    assert [ln.split(" |")[0] for ln in later] == ["| q (probe)", "| p (probe)", "| carry_forward (baseline)"]
    assert "| p (probe) | hidden | 0.60 | 0.80 | **0.700** | [0.60, 0.80] | 0.050 |" in lines
    assert "| q (probe) | hidden | – | – | **0.900** | [0.60, 0.80] | 0.050 |" in lines
    assert "| p | hidden | 0.60 | 0.80 | **0.700** | [0.60, 0.80] |" in lines  # in-checkpoint: no error column


def test_an_incomplete_summary_is_one_line(tmp_path):
    s = _summary()
    del s["demo"]
    (tmp_path / "summary.json").write_text(json.dumps(s))
    with pytest.raises(SystemExit, match="no 'demo' key; run `probecast demo --model smollm2"):
        rt.main(["--ws", str(tmp_path)])
