"""The agreement statistics behind the vLLM-vs-HF test: exact under equal sampling, powerful under a shift."""

import numpy as np
import pytest

from probecast.labels.agreement import greedy_agreement, paired_pass1_pvalue


def _pass1(rng, p, n):
    return rng.binomial(n, p) / n


def test_greedy_agreement_counts_identical_strings():
    assert greedy_agreement(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 0.75
    with pytest.raises(ValueError, match="equally long, non-empty"):
        greedy_agreement(["a"], [])


def test_same_distribution_rejects_at_about_the_nominal_rate():
    """Same per-question success rates on both sides: p < 0.05 in about 5% of repeats (the test is exact)."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, size=24)
    pvals = [paired_pass1_pvalue(_pass1(rng, p, 8), _pass1(rng, p, 8), seed=i) for i in range(200)]
    assert 0.01 <= np.mean(np.array(pvals) < 0.05) <= 0.10


def test_a_real_shift_is_detected():
    """pass@1 higher by 0.25 on every question (what a wrong temperature or a broken stop would cause)."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.6, size=24)
    pvals = [paired_pass1_pvalue(_pass1(rng, p, 8), _pass1(rng, p + 0.25, 8), seed=i) for i in range(50)]
    assert np.mean(np.array(pvals) < 0.01) > 0.9


def test_identical_labels_give_p_one_and_shapes_are_checked():
    assert paired_pass1_pvalue([0.5, 0.25], [0.5, 0.25]) == 1.0
    with pytest.raises(ValueError, match="per-question pass@1 of the same questions"):  # its own check, not scipy's
        paired_pass1_pvalue([0.5], [0.5, 0.1])
