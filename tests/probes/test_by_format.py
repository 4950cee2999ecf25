"""`by_format`: the member probe fitted apart on the multiple-choice and the generative rows."""

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.probes.base import load_probe, make_probe


def _features(n_mc: int, n_gen: int, seed: int = 0) -> tuple[FeatureSet, np.ndarray]:
    """MC rows whose label is read by the gold-minus-others difference (dim 0), generative rows by the answer's
    states (dim 1), the same layer; noise elsewhere."""
    rng = np.random.default_rng(seed)
    n, L, D = n_mc + n_gen, 3, 6
    mc = np.arange(n) < n_mc
    answer, others = rng.normal(size=(n, L, D)).astype(np.float32), rng.normal(size=(n, L, D)).astype(np.float32)
    others[~mc] = 0
    y = np.where(mc, answer[:, 1, 0] - others[:, 1, 0] > 0, answer[:, 1, 1] > 0).astype(float)
    X = FeatureSet(question_ids=np.array([f"q{i}" for i in range(n)], dtype=object),
                   task=np.where(mc, "piqa", "add").astype(object), checkpoint=np.array(["c"] * n, dtype=object),
                   step=np.zeros(n, np.int64), hidden_last=rng.normal(size=(n, L, D)).astype(np.float32),
                   hidden_answer=answer, hidden_others=others, multiple_choice=mc)
    return X, y


def test_each_format_gets_a_member_of_its_own(tmp_path):
    X, y = _features(60, 60)
    probe = make_probe("by_format", probe="ridge", params={"cv": "question"}, min_questions=20).fit(X, y)
    assert set(probe.members_) == {"choice", "generative"} and probe.inputs() == ["hidden"]
    mc = X.multiple_choice
    p = probe.predict_proba(X)
    np.testing.assert_allclose(p[mc], probe.members_["choice"].predict_proba(X.subset(mc)))
    np.testing.assert_allclose(p[~mc], probe.members_["generative"].predict_proba(X.subset(~mc)))
    test, y_test = _features(60, 60, seed=1)
    from sklearn.metrics import roc_auc_score

    q = probe.predict_proba(test)
    assert roc_auc_score(y_test[test.multiple_choice], q[test.multiple_choice]) > 0.8  # the difference, learnt
    assert roc_auc_score(y_test[~test.multiple_choice], q[~test.multiple_choice]) > 0.8
    assert probe.reads().pooling == "last_contrast"  # covers both members' blocks (last, answer, others)
    assert probe.members_["choice"].config.pooling == "contrast"
    assert probe.members_["generative"].config.pooling == "last_answer"
    again = load_probe(probe.save(tmp_path / "p"))
    np.testing.assert_allclose(again.predict_proba(test), q)
    assert again.reads_ == probe.reads()


def test_a_small_part_is_predicted_by_a_member_fitted_on_every_row():
    X, y = _features(8, 60)
    probe = make_probe("by_format", probe="ridge", params={"cv": "question"}, min_questions=20).fit(X, y)
    assert set(probe.members_) == {"generative", "all"}
    mc = X.multiple_choice
    np.testing.assert_allclose(probe.predict_proba(X)[mc], probe.members_["all"].predict_proba(X.subset(mc)))
    only_gen = X.subset(~mc)
    assert set(make_probe("by_format", probe="ridge", params={"cv": "question"}).fit(
        only_gen, y[~mc]).members_) == {"generative"}
    with pytest.raises(ProbecastError, match="hidden states alone"):
        make_probe("by_format", probe="hybrid").fit(X, y)
