"""The COD cluster law recovers known parameters; the predictable rule says why a cluster is excluded."""

import numpy as np
import pytest

from probecast.forecast.cod.law import PredictableRule, cluster_law, fit_law


@pytest.mark.parametrize("a,b,c,g", [(2.0, 0.6, 0.05, 0.0), (6.0, 0.7, 0.1, 0.25), (20.0, 0.8, 0.3, 0.0)])
def test_fit_recovers_known_parameters(a, b, c, g):
    C = 2.0 ** np.arange(8)
    rng = np.random.default_rng(0)
    y = cluster_law(C, a, b, c, g) + rng.normal(0, 0.002, len(C))
    res = fit_law(C, y, g)
    fa, fb, fc = res.params
    assert fa == pytest.approx(a, rel=0.15)
    assert fb == pytest.approx(b, rel=0.1)
    assert fc == pytest.approx(c, abs=0.05)
    # and the extrapolation four doublings on is close
    assert cluster_law(16 * C[-1], *res.params, g) == pytest.approx(cluster_law(16 * C[-1], a, b, c, g), abs=0.03)


def test_law_is_bounded_by_chance_and_one_and_increasing():
    C = np.geomspace(1, 1e4, 50)
    y = cluster_law(C, 3.0, 0.5, 0.2, 0.25)
    assert np.all(np.diff(y) > 0)
    assert y.min() >= 0.25 and y.max() <= 1.0


def test_predictable_rule_names_the_failed_condition():
    rule = PredictableRule(min_a=1.0, max_c=1.0)  # the paper's rule
    assert rule.check({"a": 3.0, "b": 0.5, "c": 0.1}, 0.01) == (True, "ok")
    ok, why = rule.check({"a": 0.5, "b": 0.5, "c": 0.1}, 0.01)
    assert not ok and why.startswith("a=")
    ok, why = rule.check({"a": 3.0, "b": 0.05, "c": 0.1}, 0.01)
    assert not ok and why.startswith("b=")
    ok, why = rule.check({"a": 3.0, "b": 0.5, "c": 1.5}, 0.01)
    assert not ok and why.startswith("c=")
    assert PredictableRule(min_a=1.0, max_c=2.0).check({"a": 3.0, "b": 0.5, "c": 1.5}, 0.01)[0]


def test_default_rule_keeps_clusters_past_37_percent_on_the_first_model_and_low_ceilings():
    """a depends on the compute unit (here the smallest model), so a <= 1 is no sign of a failed law; nor is a
    ceiling at exp(-1.2) = 30 % of the headroom. A flat line, a bad fit or a parameter at its bound still fail."""
    rule = PredictableRule()
    assert rule.check({"a": 0.5, "b": 0.5, "c": 0.1}, 0.01) == (True, "ok")
    assert rule.check({"a": 3.0, "b": 0.5, "c": 1.2}, 0.01) == (True, "ok")
    assert not rule.check({"a": 3.0, "b": 0.05, "c": 0.1}, 0.01)[0]
    assert not rule.check({"a": 3.0, "b": 0.5, "c": 6.0}, 0.01)[0]
    assert not rule.check({"a": 3.0, "b": 0.5, "c": 0.1}, 0.2)[0]


def test_a_fit_at_its_bound_is_not_predictable():
    ok, why = PredictableRule().check({"a": 1e4, "b": 3.0, "c": 0.5}, 0.01)
    assert not ok and "bound" in why
