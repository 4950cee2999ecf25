"""benchmarks/auroc_interval_coverage.py: the simulation's shape, its truth and its JSON."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from benchmark_module import load_benchmark  # noqa: E402

cov = load_benchmark("auroc_interval_coverage")


def test_a_sample_has_the_real_demo_shape_and_the_truth_orders_the_predictors():
    import numpy as np

    rows = cov.draw_rows(np.random.default_rng(0))
    per_task = rows[(rows["method"] == "good") & (rows["checkpoint"] == "c0")].groupby("task").size()
    assert per_task.to_dict() == {t: n for t, (n, _) in cov.TASKS.items()}
    t = cov.truth(np.random.default_rng(1), 400)
    assert 0.5 < t["weak"] < t["good"] < 1 and abs(t["good-weak"] - (t["good"] - t["weak"])) < 1e-12


def test_json_holds_coverage_and_width_for_every_interval():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "auroc_interval_coverage.py"), "--draws", "3",
                        "--boot", "50", "--population", "300", "--json"], capture_output=True, text=True, check=True)
    res = json.loads(r.stdout)
    for interval in ("bca", "percentile", "percentile_draw_n"):
        assert set(res["coverage"][interval]) == {"good", "weak", "good-weak"}
        assert all(0 <= v <= 1 for v in res["coverage"][interval].values())
        assert all(w > 0 for w in res["width"][interval].values())
