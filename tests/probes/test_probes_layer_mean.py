"""`ridge_layers`: ridge averaged over the k layers its CV ranks best."""

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.evaluation.metrics import auroc
from probecast.probes import load_probe, make_probe
from probes_synthdata import planted, question_split


def two_signal_layers(seed: int):
    """The success logit planted along one direction of layer 2 (by `planted`) and, with its own noise, along
    another direction of layer 1: two independent noisy readings of the same signal."""
    fs, y, p_true = planted(n_questions=120, n_layers=4, dim=16, layer=2, noise=2.0, signal=1.0, seed=seed)
    rng = np.random.default_rng(seed + 1)
    logit = np.log(p_true / (1 - p_true))
    direction = rng.normal(size=fs.hidden_last.shape[-1])
    direction /= np.linalg.norm(direction)
    fs.hidden_last[:, 1] = (rng.normal(0, 2.0, size=fs.hidden_last[:, 1].shape)
                            + 1.0 * logit[:, None] * direction[None]).astype(np.float32)
    return fs, y, p_true


def test_one_layer_is_ridge_itself():
    fs, y, _ = planted(n_questions=80, seed=4)
    tr, te = question_split(fs)
    ridge = make_probe("ridge").fit(fs.subset(tr), y[tr])
    one = make_probe("ridge_layers", top_layers=1).fit(fs.subset(tr), y[tr])
    assert one.reads().layers == (ridge.layer_,)
    np.testing.assert_allclose(one.predict_proba(fs.subset(te)), ridge.predict_proba(fs.subset(te)), rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_readings_averaged_rank_better_than_the_best_one(seed):
    fs, y, p_true = two_signal_layers(seed)
    tr, te = question_split(fs)
    ridge = make_probe("ridge").fit(fs.subset(tr), y[tr])
    both = make_probe("ridge_layers", top_layers=2).fit(fs.subset(tr), y[tr])
    assert both.reads().layers == (1, 2) and ridge.layer_ in (1, 2)
    truth = p_true[te] >= 0.5
    assert auroc(truth, both.predict_proba(fs.subset(te))) > auroc(truth, ridge.predict_proba(fs.subset(te))) + 0.01


def test_save_load_round_trip_and_clear_errors(tmp_path):
    fs, y, _ = two_signal_layers(3)
    probe = make_probe("ridge_layers", top_layers=3).fit(fs, y)
    assert probe.inputs() == ["hidden"] and len(probe.reads().layers) == 3
    probe.save(tmp_path / "p")
    again = load_probe(tmp_path / "p")
    assert type(again) is type(probe) and again.reads() == probe.reads()
    np.testing.assert_allclose(again.predict_proba(fs), probe.predict_proba(fs), rtol=1e-9)
    for bad in ({"top_layers": 0}, {"layer": 1}, {"task_intercepts": True}, {"kind": "logistic"}):
        with pytest.raises(ProbecastError, match="ridge_layers"):
            make_probe("ridge_layers", **bad).fit(fs, y)
