"""benchmarks/real_ceiling.py: the label-noise ceiling behaves as a ceiling should."""

import numpy as np
import pandas as pd

from benchmark_module import load_benchmark

real_ceiling = load_benchmark("real_ceiling")


def _rows(n_samples: int, mc: bool, q: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, size=(2, q))
    rows = []
    for k, step in enumerate((10, 20)):
        c = (p[k] > 0.5).astype(int) if mc else rng.binomial(n_samples, p[k])
        rows += [{"task": "t", "checkpoint": f"s{step}", "step": step, "question_id": f"q{i}", "n": n_samples,
                  "c": int(c[i]), "pass1": c[i] / n_samples, "mc": mc} for i in range(q)]
    return pd.DataFrame(rows)


def test_deterministic_labels_have_a_perfect_oracle():
    out = real_ceiling.ceiling(_rows(1, mc=True), draws=3)
    assert out["auroc_mean"] == 1.0 and out["task_abs_err_mean"] == 0.0


def test_sampled_labels_cap_the_oracle_and_more_samples_raise_the_cap():
    few = real_ceiling.ceiling(_rows(4, mc=False), draws=30)
    many = real_ceiling.ceiling(_rows(400, mc=False), draws=30)
    assert 0.6 < few["auroc_mean"] < 0.97 and few["task_abs_err_mean"] > 0.02
    assert many["auroc_mean"] > few["auroc_mean"] and many["task_abs_err_mean"] < few["task_abs_err_mean"] / 3
