"""`vote`: members fitted on the same rows, P = sigmoid of the mean of their logits."""

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.features.plan import FeatureReads, union_reads
from probecast.probes.base import load_probe, make_probe
from probecast.probes.vote import logit
from test_by_format import _features

PARAMS = {"linear": {"cv": "question", "layer": 1, "pooling": "last_contrast"},
          "ridge": {"cv": "question", "pooling": "answer"},
          "by_format": {"probe": "ridge", "params": {"cv": "question"}}}


def test_the_vote_is_the_mean_logit_of_members_fitted_alone(tmp_path):
    X, y = _features(60, 60)
    vote = make_probe("vote", members=list(PARAMS), params=PARAMS).fit(X, y)
    alone = [make_probe(m, **PARAMS[m]).fit(X, y) for m in PARAMS]
    test, _ = _features(40, 40, seed=1)
    z = np.mean([logit(m.predict_proba(test)) for m in alone], axis=0)
    np.testing.assert_allclose(vote.predict_proba(test), 1 / (1 + np.exp(-z)), rtol=1e-10)
    assert vote.inputs() == ["hidden"]
    assert vote.reads() == union_reads([m.reads() for m in alone])
    assert vote.reads().pooling == "last_contrast"  # covers last, answer and others
    again = load_probe(vote.save(tmp_path / "v"))
    np.testing.assert_allclose(again.predict_proba(test), vote.predict_proba(test))
    assert again.reads_ == vote.reads()


def test_inputs_are_the_members_union():
    assert make_probe("vote", members=["linear", "answer_loglik"]).inputs() == ["hidden", "answer_loglik"]


def test_union_of_reads():
    a = FeatureReads(layers=(1, 3), pooling="last")
    b = FeatureReads(layers=(2, 3), pooling="answer", next_token=True)
    u = union_reads([a, b])
    assert u.layers == (1, 2, 3) and u.pooling == "last_answer" and u.next_token and not u.answer_loglik
    assert union_reads([a, FeatureReads(layers=None)]).layers is None


@pytest.mark.parametrize("params", [{"members": ["linear", "nope"]}, {"members": ["linear", "linear"]},
                                    {"members": ["vote"]}, {"members": []},
                                    {"members": ["linear"], "params": {"ridge": {}}}])
def test_bad_members_are_refused(params):
    with pytest.raises(ProbecastError, match="probe 'vote'"):
        make_probe("vote", **params)


def test_a_vote_predicts_from_the_layers_it_reads_alone():
    """At a new checkpoint only the union of the members' layers is extracted (`plan_extraction`)."""
    from dataclasses import replace

    X, y = _features(60, 60)
    params = {"linear": {"cv": "question", "layer": 2, "pooling": "last_contrast"},
              "by_format": {"probe": "ridge", "params": {"cv": "question", "layer": 0}}}
    vote = make_probe("vote", members=list(params), params=params).fit(X, y)
    keep = vote.reads().layers
    assert keep == (0, 2)
    part = replace(X, hidden_last=X.hidden_last[:, keep], hidden_answer=X.hidden_answer[:, keep],
                   hidden_others=X.hidden_others[:, keep], layer_ids=keep)
    np.testing.assert_allclose(vote.predict_proba(part), vote.predict_proba(X))
