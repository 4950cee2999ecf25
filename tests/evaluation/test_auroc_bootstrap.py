"""The question bootstrap of AUROC means: its points are the summary's figures, its resamples are real ones."""

import numpy as np
import pandas as pd
import pytest

from probecast.errors import ProbecastError
from probecast.evaluation import metrics as M
from probecast.evaluation.auroc_bootstrap import BootstrapConfig, auroc_bootstrap, weighted_auroc
from probecast.evaluation.in_checkpoint import InCheckpointConfig, evaluate_in_checkpoint
from probecast.evaluation.scoring import summarise
from probes_synthdata import planted


def test_weighted_auroc_is_the_auroc_of_the_repeated_questions():
    rng = np.random.default_rng(0)
    y = (rng.random(25) < 0.4).astype(float)
    p = np.round(rng.random(25), 1)  # ties count half, as in metrics.auroc
    assert weighted_auroc(y, p, np.ones((1, 25)))[0] == pytest.approx(M.auroc(y, p), abs=1e-12)
    w = rng.multinomial(25, np.full(25, 1 / 25), size=5)
    for row in w:
        idx = np.repeat(np.arange(25), row)
        expect = M.auroc(y[idx], p[idx])
        got = weighted_auroc(y, p, row[None, :].astype(float))[0]
        assert (np.isnan(expect) and np.isnan(got)) or got == pytest.approx(expect, abs=1e-12)
    assert np.isnan(weighted_auroc(np.zeros(4), p[:4], np.ones((1, 4)))[0])  # one class: undefined


def _rows(rng, methods=("good", "noise"), tasks=("a", "b"), n=30, ckpts=("c1", "c2", "c3")):
    out = []
    for task in tasks:
        truth = rng.random(n)
        for k, ck in enumerate(ckpts):
            pass1 = np.clip(truth + 0.1 * k + 0.2 * rng.standard_normal(n), 0, 1)
            if task == "b" and ck == "c1":
                pass1[:] = 0.0  # one class at this checkpoint: skipped in the task's mean
            for m in methods:
                p = truth + (0.1 if m == "good" else 2.0) * rng.standard_normal(n)
                out.append(pd.DataFrame({"method": m, "task": task, "checkpoint": ck, "step": 10 * (k + 1),
                                         "question_id": [f"q{i}" for i in range(n)], "pass1": pass1, "p": p}))
    return pd.concat(out, ignore_index=True)


def test_points_are_summarise_figures_and_a_good_ranker_is_above_noise():
    rows = _rows(np.random.default_rng(1))
    res = auroc_bootstrap(rows, against=["noise"], cfg=BootstrapConfig(boot=300))
    for m in ("good", "noise"):
        assert res["methods"][m]["auroc_mean"] == pytest.approx(summarise(rows[rows["method"] == m])["auroc_mean"])
        assert 0 <= res["methods"][m]["lo"] <= res["methods"][m]["hi"] <= 1
    gap = res["against"]["noise"]["good"]
    assert gap["p_above"] > 0.99 and 0 < gap["lo"] <= gap["diff"] <= gap["hi"]
    assert "noise" not in res["against"]["noise"]


def test_a_task_with_one_class_everywhere_is_pooled_as_the_summary_pools_it():
    rows = _rows(np.random.default_rng(2), tasks=("a",), ckpts=("c1", "c2"))
    rows.loc[rows["checkpoint"] == "c1", "pass1"] = 1.0
    rows.loc[rows["checkpoint"] == "c2", "pass1"] = 0.0  # no checkpoint has both classes: pooled over them
    res = auroc_bootstrap(rows, cfg=BootstrapConfig(boot=50))
    assert res["methods"]["good"]["auroc_mean"] == pytest.approx(summarise(rows[rows["method"] == "good"])["auroc_mean"])
    assert np.isnan(auroc_bootstrap(rows, cfg=BootstrapConfig(boot=50), pooled_fallback=False)
                    ["methods"]["good"]["auroc_mean"])


def test_paired_resamples_cancel_what_two_methods_share():
    rows = _rows(np.random.default_rng(3))
    twin = rows[rows["method"] == "good"].assign(method="twin")
    res = auroc_bootstrap(pd.concat([rows, twin]), against=["good"], cfg=BootstrapConfig(boot=100))
    assert res["against"]["good"]["twin"]["lo"] == res["against"]["good"]["twin"]["hi"] == 0


def test_bad_settings_and_unknown_baselines_are_errors():
    with pytest.raises(ProbecastError, match="boot"):
        BootstrapConfig(boot=1)
    with pytest.raises(ProbecastError, match="not among the methods"):
        auroc_bootstrap(_rows(np.random.default_rng(4)), against=["nope"])


def test_in_checkpoint_means_get_intervals_and_gaps_to_the_baselines():
    X, y, _ = planted(n_questions=60, steps=(100, 800), dim=8, tasks=("t1", "t2"))
    res = evaluate_in_checkpoint(X, y, ["linear", "text_difficulty"],
                                 InCheckpointConfig(n_folds=3, bootstrap=BootstrapConfig(boot=200)),
                                 {"linear": {"cv": "question"}}, show_progress=False)
    lo, hi = res["methods"]["linear"]["auroc_ci"]
    assert lo <= res["methods"]["linear"]["auroc_mean"] <= hi
    assert res["auroc_paired"]["against"]["text_difficulty"]["linear"]["diff"] == pytest.approx(
        res["methods"]["linear"]["auroc_mean"] - res["methods"]["text_difficulty"]["auroc_mean"])


def test_bca_recentres_a_shifted_distribution_and_percentile_is_the_plain_quantiles():
    from probecast.evaluation.auroc_bootstrap import _bca, _percentile

    rng = np.random.default_rng(5)
    d = rng.normal(0.75, 0.05, 4000)  # bootstrap values sitting 0.05 above the point 0.70
    lo, hi = _bca(0.70, d, rng.normal(0, 0.01, 200), 0.9)
    plo, phi = _percentile(d, 0.9)
    assert (plo, phi) == pytest.approx((np.quantile(d, 0.05), np.quantile(d, 0.95)))
    assert lo < plo and hi < phi and lo < 0.70 < hi  # moved down, around the point
    assert _bca(0.5, np.full(100, 0.5), np.zeros(10), 0.9) == (0.5, 0.5)  # a constant method: no width
    rows = _rows(np.random.default_rng(6))
    for interval in ("bca", "percentile"):
        res = auroc_bootstrap(rows, against=["noise"], cfg=BootstrapConfig(boot=200, interval=interval))
        assert res["interval"] == interval and res["methods"]["good"]["lo"] < res["methods"]["good"]["hi"]
    with pytest.raises(ProbecastError, match="interval"):
        BootstrapConfig(interval="normal")
