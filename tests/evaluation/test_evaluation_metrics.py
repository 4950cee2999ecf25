import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from probecast.evaluation import metrics as M


def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) * 0.5 + 0.3 * y, 1)  # many ties
    assert M.auroc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_auroc_hand_computed_and_undefined():
    # positives 0.8, 0.4; negatives 0.5, 0.1: pairs (0.8>0.5, 0.8>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert M.auroc([1, 1, 0, 0], [0.8, 0.4, 0.5, 0.1]) == pytest.approx(0.75)
    assert M.auroc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert np.isnan(M.auroc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_brier_matches_sklearn_and_soft_targets():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    p = rng.random(100)
    assert M.brier(y, p) == pytest.approx(brier_score_loss(y, p))
    assert M.brier([0.25, 1.0], [0.5, 0.5]) == pytest.approx((0.0625 + 0.25) / 2)


def test_ece_hand_computed():
    # bin [0.1,0.2): p=0.1,0.1 vs y=0,1 -> |0.1-0.5|=0.4 weight 2; bin [0.9,1]: p=0.9 vs y=0.9 -> 0
    assert M.ece([0, 1, 0.9], [0.1, 0.1, 0.9]) == pytest.approx(0.4 * 2 / 3)
    assert M.ece([0.3, 0.7], [0.3, 0.7]) == pytest.approx(0.0)


def test_task_abs_err_spearman_and_bootstrap():
    assert M.task_abs_err([0, 1, 1, 0], [0.2, 0.2, 0.2, 0.2]) == pytest.approx(0.3)
    assert M.spearman([0.1, 0.2, 0.3, 0.25], [0.1, 0.2, 0.4, 0.5]) == pytest.approx(0.8)
    assert M.spearman([0.2, 0.2, 0.2], [0.1, 0.2, 0.3]) == 0.0  # constant forecast orders nothing
    assert np.isnan(M.spearman([0.1, 0.2, 0.3], [0.2, 0.2, 0.2]))
    assert np.isnan(M.spearman([0.1, 0.2], [0.1, 0.2]))
    lo, hi = M.bootstrap_mean_ci(np.r_[np.zeros(500), np.ones(500)], n_boot=2000)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.5 / np.sqrt(1000), rel=0.15)
    assert np.isnan(M.nanmean([np.nan])) and M.nanmean([1, np.nan, 3]) == 2


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        M.brier([0, 1], [0.5])
