"""benchmarks/real_hidden_ceiling.py: optimistic ceilings of pure hidden-state ridge probes, with a null."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "report"))
from report_workspace import planted_workspace  # noqa: E402

from benchmark_module import load_benchmark  # noqa: E402

ceiling = load_benchmark("real_hidden_ceiling")


def test_the_oracle_finds_the_planted_layer_and_the_null_stays_near_chance(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=40)  # the signal is in layer 1 of the last-token states
    plot = tmp_path / "ceiling.png"
    res = ceiling.main(["--ws", str(ws.root), "--l2", "1,100", "--folds", "3", "--plot", str(plot)])
    for proto in ("in_checkpoint", "earlier_later", "earlier_later_drift_free"):
        real, null = res[proto]["real/pooled"], res[proto]["null/pooled"]
        assert real["oracle_candidate"]["layer"] == 1 and real["oracle_candidate"]["pooling"] in ("last", "both")
        assert real["oracle"] > null["oracle"] + (0.15 if proto == "in_checkpoint" else 0.0), proto
        assert real["oracle_per_task"] >= real["oracle"]  # the best per task is at least the best overall
        assert set(res[proto]) == {"real/pooled", "real/per_task", "null/pooled", "null/per_task"}
    f = res["earlier_later"]["real/pooled"]["forward_choice"]  # chosen on the training checkpoints only
    assert set(f) == {"pooling", "layer", "l2", "validation", "test", "validation_range"} and f["layer"] == 1
    assert f["test"] > 0.7 and f["validation_range"][0] <= f["validation"] == f["validation_range"][1]
    curve = res["in_checkpoint"]["real/pooled"]["by_layer"]["last"]  # best L2 per layer: the plot's line
    assert len(curve) == 3 and max(curve) == curve[1]
    assert res["split"]["train_checkpoints"] == ["step-10", "step-20"]
    assert res["demo"]["earlier_later"]["ridge"] > 0.5 and plot.stat().st_size > 0


def test_candidate_scores_are_aggregated_as_the_evaluation_aggregates(tmp_path):
    from probecast.evaluation.scoring import summarise

    rng = np.random.default_rng(0)
    rows = []
    for task, rate in (("a", 0.5), ("b", 0.2), ("c", 1.0)):  # c: one class at every checkpoint -> no AUROC
        for ck in ("s1", "s2", "s3"):
            y = (rng.random(20) < rate).astype(float) if task != "b" or ck != "s1" else np.zeros(20)
            rows.append(pd.DataFrame({"task": task, "checkpoint": ck, "step": int(ck[1]),
                                      "question_id": [f"q{i}" for i in range(20)], "pass1": y,
                                      "p": y * 0.3 + rng.random(20)}))
    rows = pd.concat(rows, ignore_index=True)
    got = ceiling.task_scores(rows["p"].to_numpy()[:, None], rows["pass1"].to_numpy(), rows["task"].to_numpy(),
                              rows["checkpoint"].to_numpy(), pooled_fallback=True)
    want = summarise(rows)["auroc_by_task"]
    assert np.isclose(got["a"][0], want["a"]) and np.isclose(got["b"][0], want["b"])
    assert not np.isfinite(got["c"][0]) and want.get("c") is None


def test_bad_workspace_and_options_are_one_line_and_exit_2(tmp_path):
    script = str(ROOT / "benchmarks" / "real_hidden_ceiling.py")
    for args in (["--ws", str(tmp_path)], ["--ws", str(tmp_path), "--l2", "x"]):
        r = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.strip().startswith("error:"), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
