"""benchmarks/in_checkpoint_rows.py: the in-checkpoint protocol with the training side varied (a learning curve)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "report"))
from report_workspace import planted_workspace  # noqa: E402

from benchmark_module import load_benchmark  # noqa: E402

rows_bench = load_benchmark("in_checkpoint_rows")


def test_subsamples_keep_every_stratum_and_match_counts():
    rng = np.random.default_rng(0)
    tasks = np.array(["a"] * 20 + ["b"] * 10)
    y = np.array([1.0] * 5 + [0.0] * 15 + [1.0] * 2 + [0.0] * 8)
    half = rows_bench.stratified_subsample(np.arange(30), tasks, y, 0.5, rng)
    assert len(np.unique(half)) == len(half) == 2 + 8 + 1 + 4  # rounded (half to even) per stratum, >= 1 each
    assert set(tasks[half]) == {"a", "b"} and (y[half] >= 0.5).sum() == 3
    like = np.array([0, 1, 5, 6, 7])  # task a: 2 successes, 3 failures
    pool_tasks, pool_y = np.array(["a"] * 6 + ["c"] * 2), np.array([1, 1, 1, 0, 0, 0, 1, 0.0])
    got = rows_bench.matched_rows(np.arange(8), pool_tasks, pool_y, like, tasks, y, rng)
    assert sorted(pool_y[got]) == [0, 0, 0, 1, 1] and set(pool_tasks[got]) == {"a"}


def test_curve_and_dev_variants_on_a_planted_run(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=30)
    dev = planted_workspace(tmp_path / "dev", n_questions=30, seed=1, question_prefix="dev-", direction_seed=0)
    out = rows_bench.main(["--ws", str(ws.root), "--dev", str(dev.root), "--methods", "ridge", "--fractions",
                           "0.5,1", "--seeds", "1", "--folds", "3", "--pool-checkpoints",
                           "--plot", str(tmp_path / "rows.png")])
    points = {p["variant"]: p for p in out["curves"]["ridge"]}
    assert set(points) == {"0.5", "1", "0.5+dev", "1+dev", "swap", "pool"}
    assert points["1"]["train_questions_per_task"] == pytest.approx(20)  # 2 of 3 folds of 30
    assert points["1+dev"]["train_questions_per_task"] == pytest.approx(50)
    assert all(p["auroc_dev_tasks"] > 0.6 for p in points.values())  # the planted layer, whatever the rows
    assert (tmp_path / "rows.png").stat().st_size > 0


def test_a_dev_set_sharing_questions_is_one_line_and_exit_2(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=10)
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "in_checkpoint_rows.py"), "--ws", str(ws.root),
                        "--dev", str(ws.root)], capture_output=True, text=True)
    assert r.returncode == 2 and "shares questions" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_pool_trains_on_every_checkpoint_but_never_on_a_test_question(tmp_path, monkeypatch):
    import probecast.probes.base as base

    seen = []

    class Recorder:
        def fit(self, X, y):
            self.train_ids, self.train_steps = set(X.question_ids.astype(str)), set(X.step.astype(int))
            return self

        def predict_proba(self, X):
            seen.append((self.train_ids, self.train_steps, set(X.question_ids.astype(str)), set(X.step.astype(int))))
            return np.full(len(X), 0.5)

    ws = planted_workspace(tmp_path / "ws", n_questions=12)
    X, y = rows_bench._load(str(ws.root))
    monkeypatch.setattr(base, "make_probe", lambda name, **kw: Recorder())
    rows_bench.learning_curve_rows(X, y, None, "ridge", {}, 1.0, "pool", 0, 3)
    steps = set(X.step.astype(int))
    assert len(seen) == 3 * len(steps)  # every fold of every checkpoint
    for train_ids, train_steps, test_ids, test_steps in seen:
        assert train_steps == steps and len(test_steps) == 1  # trained on every checkpoint, tested on one
        assert train_ids and not train_ids & test_ids  # no test question at any checkpoint
