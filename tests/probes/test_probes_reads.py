"""A fitted probe records what it reads; predicting on features that keep only that gives the same answer."""

from dataclasses import replace

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.features.extract import ExtractConfig
from probecast.features.plan import FeatureReads, plan_extraction
from probecast.probes.base import load_probe, make_probe

from probes_synthdata import planted


def _only(fs, layers):
    """The FeatureSet an extraction keeping `layers` (feature positions) yields."""
    return replace(fs, hidden_last=fs.hidden_last[:, list(layers)], hidden_mean=fs.hidden_mean[:, list(layers)],
                   layer_ids=tuple(layers))


@pytest.mark.parametrize("name,params", [("linear", {}), ("hybrid", {"select": "always"}),
                                         ("mlp", {"layers": [0, 2], "max_epochs": 3}), ("answer_loglik", {})])
def test_fit_records_reads_and_partial_features_predict_the_same(tmp_path, name, params):
    fs, y, _ = planted(n_questions=40, steps=(100, 400), layer=2)
    probe = make_probe(name, **params).fit(fs, y)
    probe.save(tmp_path / name)
    loaded = load_probe(tmp_path / name)
    reads = loaded.reads_
    assert reads == probe.reads() and reads.answer_loglik == (name in ("hybrid", "answer_loglik"))
    if name in ("linear", "hybrid"):
        assert reads.layers == (2,)  # the planted layer is selected and recorded
    if name == "answer_loglik":
        assert reads.layers == ()
    part = _only(fs, reads.layers)
    np.testing.assert_allclose(loaded.predict_proba(part), probe.predict_proba(fs), atol=1e-6)


def test_plan_maps_feature_layers_to_hidden_states_and_drops_unread_inputs():
    ws_cfg = ExtractConfig(layers=(0, 4, 8, -1), tail_tokens=8, alternatives=True)
    cfg, ids = plan_extraction(ws_cfg, FeatureReads(layers=(1, 3), pooling="last"))
    assert cfg.layers == (4, -1) and ids == (1, 3) and not cfg.mean_pool and cfg.tail_tokens == 0
    assert not cfg.answer_loglik and not cfg.alternatives and not cfg.next_token  # the pass may stop early
    cfg, ids = plan_extraction(ExtractConfig(), FeatureReads(layers=(), answer_loglik=True, alternatives=True))
    assert cfg.layers == () and cfg.answer_loglik and cfg.alternatives and ids == ()
    cfg, ids = plan_extraction(ExtractConfig(tail_tokens=8), FeatureReads(layers=None, pooling="both", tail=True))
    assert cfg.layers is None and ids is None and cfg.mean_pool and cfg.tail_tokens == 8
    assert plan_extraction(ws_cfg, None) == (replace(ws_cfg, alternatives=False, next_token=False), None)  # older probes
    cfg, _ = plan_extraction(ws_cfg, FeatureReads(layers=(1,), pooling="answer"))  # the answer's tokens in the pass,
    assert cfg.answer_pool and not cfg.answer_loglik and not cfg.mean_pool and not cfg.alternatives  # no LM head
    assert cfg.layers == (4,) and not cfg.next_token  # and the pass may stop after the layer read
    cfg, _ = plan_extraction(ws_cfg, FeatureReads(layers=(1,), pooling="both"))
    assert not cfg.answer_pool and cfg.mean_pool and not cfg.answer_loglik
    cfg, ids = plan_extraction(ExtractConfig(), FeatureReads(layers=(), next_token=True))  # logit_lens: full depth,
    assert cfg.next_token and not cfg.answer_loglik and cfg.layers == () and ids == ()  # no answer, no pooled layer


def test_missing_layer_is_a_clear_error():
    fs, y, _ = planted(n_questions=30, steps=(100, 400), layer=2)
    probe = make_probe("linear").fit(fs, y)
    with pytest.raises(ProbecastError, match="keep only"):
        probe.predict_proba(_only(fs, (0, 1)))
    with pytest.raises(ProbecastError, match="every extracted layer"):
        make_probe("linear").fit(_only(fs, (2,)), y)


def test_answer_pooling_reads_the_answer_block_and_says_when_it_is_missing():
    from probecast.probes.inputs import hidden_block

    fs, y, _ = planted(n_questions=20, steps=(100, 400), layer=2)
    fs = replace(fs, hidden_answer=fs.hidden_mean[:, ::-1].copy())
    both = hidden_block(fs, "last_answer", [0, 2])
    np.testing.assert_array_equal(both, np.concatenate([fs.hidden_last[:, [0, 2]], fs.hidden_answer[:, [0, 2]]], -1))
    np.testing.assert_array_equal(hidden_block(fs, "answer", [1]), fs.hidden_answer[:, [1]])
    probe = make_probe("linear", pooling="answer").fit(fs, y)
    assert probe.reads().pooling == "answer"
    with pytest.raises(ProbecastError, match="needs hidden_answer"):
        probe.predict_proba(replace(fs, hidden_answer=None))
