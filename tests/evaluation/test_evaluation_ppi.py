"""PPI task scores: hand-computed values, agreement with ppi_py (clt) and with the survey-sampling and
Agresti–Coull formulas (finite), the classical limit, the budget rule."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

pytest.importorskip("ppi_py")

import ppi_py  # noqa: E402

from probecast.errors import ProbecastError  # noqa: E402
from probecast.evaluation.ppi import (  # noqa: E402
    AuditBudget,
    finite_se,
    label_until,
    ppi_mean,
    regression_lambda,
    tuned_lambda,
)

Z90 = NormalDist().inv_cdf(0.95)


def test_plain_ppi_matches_a_hand_computation():
    f_all = np.array([0.2, 0.4, 0.6, 0.8])  # mean 0.5, population variance 0.05
    y = np.array([0.0, 1.0])
    f = np.array([0.2, 0.6])  # residuals -0.2, 0.4: mean 0.1, population variance 0.09
    est = ppi_mean(f_all, y, f, level=0.9, lam=1.0, interval="clt")
    assert est.estimate == pytest.approx(0.6)
    se = np.sqrt(0.05 / 4 + 0.09 / 2)
    assert (est.lo, est.hi) == pytest.approx((0.6 - Z90 * se, 0.6 + Z90 * se))
    assert est.rectifier == pytest.approx(0.1)
    assert est.classical == pytest.approx(0.5) and est.n_labels == 2 and est.n_questions == 4
    assert est.effective_labels == pytest.approx(0.25 / se ** 2)  # var(y) = 0.25


def test_power_tuned_estimate_matches_ppi_py():
    rng = np.random.default_rng(1)
    truth = rng.uniform(size=300)
    f_all = np.clip(truth + rng.normal(0, 0.15, 300) - 0.1, 0, 1)  # biased, informative
    idx = rng.choice(300, 40, replace=False)
    y = (rng.uniform(size=40) < truth[idx]).astype(float)
    est = ppi_mean(f_all, y, f_all[idx], interval="clt")
    lo, hi = ppi_py.ppi_mean_ci(y, f_all[idx], f_all, alpha=0.1)
    assert (est.lo, est.hi) == pytest.approx((float(lo[0]), float(hi[0])))
    assert est.estimate == pytest.approx(float(ppi_py.ppi_mean_pointestimate(y, f_all[idx], f_all)[0]))
    assert 0 < est.lam <= 1
    assert est.hi - est.lo < est.classical_hi - est.classical_lo  # an informative probe narrows it
    assert est.effective_labels > est.n_labels


def test_useless_predictions_fall_back_to_the_classical_interval():
    rng = np.random.default_rng(2)
    y = (rng.uniform(size=400) < 0.4).astype(float)
    noise = rng.uniform(size=4000)  # independent of the labels
    f_all, f = noise, noise[:400]
    est = ppi_mean(f_all, y, f, interval="clt")
    assert est.lam < 0.15  # power tuning switches the predictions (almost) off
    c_lo, c_hi = ppi_py.classical_mean_ci(y, alpha=0.1)
    zero = ppi_mean(f_all, y, f, lam=0.0, interval="clt")
    assert (zero.lo, zero.hi) == pytest.approx((float(c_lo), float(c_hi)))
    assert zero.estimate == pytest.approx(y.mean())
    assert est.hi - est.lo == pytest.approx(float(c_hi - c_lo), rel=0.05)
    constant = ppi_mean(np.full(1000, 0.3), y, np.full(400, 0.3), interval="clt")  # no information at all: λ = 0 exactly
    assert constant.lam == 0 and constant.estimate == pytest.approx(y.mean())


def test_tuned_lambda_is_one_half_for_a_perfect_but_unlabelled_heavy_case():
    f_all = np.linspace(0, 1, 1_000_000 // 100)
    f = f_all[::100]
    assert tuned_lambda(f, f, f_all) == pytest.approx(1 / (1 + len(f) / len(f_all)), rel=0.05)


def test_finite_interval_matches_a_hand_computation():
    f_all = np.array([0.2, 0.4, 0.6, 0.8, 0.5, 0.5])  # mean 0.5, known: no variance term for it
    y, f = np.array([0.0, 1.0]), np.array([0.2, 0.6])  # r = y - f: -0.2, 0.4; 4 questions unaudited
    est = ppi_mean(f_all, y, f, level=0.9, lam=1.0)
    assert est.estimate == pytest.approx(0.6)
    m = Z90 ** 2 / 2  # pseudo-labels 1 and 0 at mean_N(f) = 0.5: r = 0.5 and -0.5, weight m each
    r = np.array([-0.2, 0.4, 0.5, -0.5])

    def s2(k):  # for a mean of k: each audited residual weighs k/n = k/2, the pseudo-labels m each
        w = np.array([k / 2, k / 2, m, m])
        mean = (w * r).sum() / w.sum()
        return (w * (r - mean) ** 2).sum() / w.sum()

    # the audited mean (2, the pseudo-labels counted with it: 2 + z²) and the unaudited one (4)
    se = (1 - 2 / 6) * np.sqrt(s2(2) / (2 + Z90 ** 2) + s2(4) / 4)
    assert (est.lo, est.hi) == pytest.approx((0.6 - Z90 * se, min(0.6 + Z90 * se, 1.0)))
    assert finite_se(y, f, f_all, 1.0, Z90, pseudo=False) == pytest.approx(np.sqrt((1 - 2 / 6) * 0.09 / 2))


def test_finite_interval_covers_rare_large_residuals_when_most_of_a_task_is_audited():
    """78 questions predicted within 0.05 of their label, two missed by 0.95 (preferences that flipped since the
    probe's history), audits of 64 of the 80: whether the two fall among the 16 unaudited decides the error. The
    safeguard applied to the audited mean alone (before) covered 0.82 of such draws; applied to the unaudited
    mean too (its own size, 16), 0.97."""
    f = np.r_[np.full(48, 0.95), np.full(30, 0.05), 0.05, 0.95]
    y = np.r_[np.ones(48), np.zeros(30), 1.0, 0.0]
    rng = np.random.default_rng(0)
    covered = []
    for _ in range(400):
        idx = rng.choice(80, 64, replace=False)
        e = ppi_mean(f, y[idx], f[idx])
        covered.append(e.lo <= y.mean() <= e.hi)
    assert np.mean(covered) >= 0.9


def test_finite_interval_without_labels_is_agresti_coull_and_without_pseudo_counts_ppi_py():
    rng = np.random.default_rng(4)
    y = (rng.uniform(size=30) < 0.2).astype(float)
    f_all = rng.uniform(size=10 ** 7)  # N -> infinity: no finite-population correction
    f = f_all[:30]
    n_t = 30 + Z90 ** 2  # Agresti-Coull: (x + z²/2) / (n + z²), half-width z sqrt(p(1 - p) / n~)
    p_t = (y.sum() + Z90 ** 2 / 2) / n_t
    assert finite_se(y, f, f_all, 0.0, Z90) == pytest.approx(np.sqrt(p_t * (1 - p_t) / n_t), rel=1e-5)
    est = ppi_mean(f_all, y, f, lam=0.0)
    assert est.hi - est.lo == pytest.approx(2 * Z90 * np.sqrt(p_t * (1 - p_t) / n_t), rel=1e-5)
    assert (est.classical_lo, est.classical_hi) == pytest.approx((est.lo, est.hi))
    lo, hi = ppi_py.ppi_mean_ci(y, f, f_all, alpha=0.1, lam=0.7)  # same rectifier variance as ppi_py's
    assert 2 * Z90 * finite_se(y, f, f_all, 0.7, Z90, pseudo=False) == pytest.approx(
        float(hi[0] - lo[0]), rel=1e-3)


def test_finite_interval_keeps_its_width_when_the_audited_labels_agree_and_vanishes_on_a_census():
    f_all = np.full(120, 0.05)
    f_all[:10] = 0.3
    y = np.zeros(16)  # a task near 0: every audited label 0
    est = ppi_mean(f_all, y, f_all[20:36])
    clt = ppi_mean(f_all, y, f_all[20:36], interval="clt")
    assert clt.hi - clt.lo == pytest.approx(0.0, abs=1e-12)  # the CLT interval collapses
    assert est.hi > 0.05 and est.lo == 0.0  # this one still allows a few unseen successes
    truth = (np.arange(120) < 6).astype(float)
    census = ppi_mean(f_all, truth, f_all)
    assert census.lo == census.hi == pytest.approx(truth.mean())  # everything labelled: the exact score


def test_regression_lambda_is_the_clipped_regression_slope():
    rng = np.random.default_rng(5)
    f_all = rng.uniform(size=500)
    f = f_all[:50]
    assert regression_lambda(0.5 * f + 0.1, f, f_all) == pytest.approx(0.5 * np.var(f) / np.var(f_all))
    assert regression_lambda(1 - f, f, f_all) == 0.0 and regression_lambda(3 * f, f, f_all) == 1.0
    assert regression_lambda(f, np.full(50, 0.2), f_all) == 0.0


@pytest.mark.parametrize("bad, message", [
    (dict(p_all=[0.5]), r"predictions: 1 value\(s\); PPI needs at least 2"),
    (dict(y=[0.5, 1.5]), r"audit labels: values must be finite probabilities"),
    (dict(p=[0.1, 0.2, 0.3]), r"audit: 2 labels but 3 predictions"),
    (dict(level=1.0), r"level 1.0: must be in \(0, 1\)"),
    (dict(interval="wald"), r"interval 'wald'"),
    (dict(p_all=[0.5, 0.5], y=[0, 1, 1], p=[0.5] * 3), r"audit: 3 labels but only 2 questions"),
], ids=["one question", "label above 1", "unpaired audit", "level 1", "unknown interval", "audit larger than all"])
def test_bad_input_is_a_clear_error(bad, message):
    """Each bad input is refused by its own check (a match per case: with none, a missing check went unseen
    whenever a later one refused the same input for another reason)."""
    args = dict(p_all=[0.1, 0.5, 0.9], y=[0.0, 1.0], p=[0.1, 0.9], level=0.9, interval="finite")
    args.update(bad)
    with pytest.raises(ProbecastError, match=message):
        ppi_mean(args["p_all"], args["y"], args["p"], level=args["level"], interval=args["interval"])


def test_budget_parse():
    assert AuditBudget.parse("32").questions == 32
    assert AuditBudget.parse("0.05").half_width == 0.05
    for bad in ("0", "1", "-3", "1.5", "many"):
        with pytest.raises(ProbecastError, match="--audit"):
            AuditBudget.parse(bad)


def test_label_until_stops_at_the_target_half_width_and_labels_a_prefix_of_the_order():
    rng = np.random.default_rng(3)
    truth = (rng.uniform(size=400) < 0.5).astype(float)
    p = np.clip(truth * 0.6 + 0.2 + rng.normal(0, 0.1, 400), 0, 1)
    order = rng.permutation(400)
    calls = []

    def label(idx):
        calls.append(len(idx))
        return truth[idx]

    est, idx, y = label_until(AuditBudget(half_width=0.06), p, label, order)
    assert list(idx) == list(order[:len(idx)]) and np.array_equal(y, truth[idx])
    assert calls[0] == 16 and set(calls[1:]) <= {8}
    assert est.half_width <= 0.06
    shorter = ppi_mean(p, truth[idx[:-8]], p[idx[:-8]])
    assert shorter.half_width > 0.06  # it stopped at the first round that reached the target
    fixed, idx2, _ = label_until(AuditBudget(questions=24), p, label, order)
    assert len(idx2) == 24 and fixed.n_labels == 24
    capped, idx3, _ = label_until(AuditBudget(half_width=1e-4, max_questions=40), p, label, order)
    assert len(idx3) == 40

def test_calibrated_pseudo_predictions_by_hand_and_their_effect_on_the_interval():
    from probecast.evaluation.ppi import calibrated_pseudo_predictions, finite_se

    f1, f0 = calibrated_pseudo_predictions(np.array([0.2, 0.8]))  # E f² = 0.34, E f(1 − f) = 0.16, mean 0.5
    assert f1 == pytest.approx(0.68) and f0 == pytest.approx(0.32)
    assert calibrated_pseudo_predictions(np.full(5, 0.3)) == pytest.approx((0.3, 0.3))  # useless probe: the mean
    f_all = np.array([0.1, 0.9] * 50)
    y, f = np.array([0.0, 1.0] * 8), np.array([0.1, 0.9] * 8)
    at = calibrated_pseudo_predictions(f_all)
    # λ = 0 (labels only): where the pseudo-labels are predicted does not matter (Agresti–Coull either way)
    assert finite_se(y, f, f_all, 0.0, 1.645, pseudo_at=at) == pytest.approx(finite_se(y, f, f_all, 0.0, 1.645))
    # a good probe: pseudo-labels where it would put them add less variance than at its mean
    assert finite_se(y, f, f_all, 1.0, 1.645, pseudo_at=at) < finite_se(y, f, f_all, 1.0, 1.645)
