import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.probes import load_probe, make_probe
from probecast.probes.metrics import auroc
from probes_synthdata import planted


def _early_late(fs):
    early = fs.step <= 200
    return early, ~early


def test_carry_forward_uses_last_labelled_checkpoint_and_task_mean_fallback():
    fs, y, _ = planted(n_questions=30, seed=0)
    early, late = _early_late(fs)
    seen = early & np.isin(fs.question_ids, [f"q{i}" for i in range(20)])
    cf = make_probe("carry_forward").fit(fs.subset(seen), y[seen])
    p = cf.predict_proba(fs.subset(late))
    at200 = {q: v for q, v, s in zip(fs.question_ids, y, fs.step) if s == 200}
    unseen_mean = np.mean([at200[f"q{i}"] for i in range(20)])
    for q, v in zip(fs.question_ids[late], p):
        assert v == pytest.approx(at200[q] if int(q[1:]) < 20 else unseen_mean)


def test_answer_loglik_is_monotone_calibration():
    fs, y, p_true = planted(n_questions=120, seed=1)
    early, late = _early_late(fs)
    b = make_probe("answer_loglik").fit(fs.subset(early), y[early])
    p = b.predict_proba(fs.subset(late))
    assert auroc(p_true[late] >= 0.5, p) > 0.9
    assert abs(p.mean() - y[late].mean()) < 0.1


def test_text_difficulty_learns_length_signal(tmp_path):
    fs, y, p_true = planted(n_questions=200, seed=2)  # harder questions have longer prompts
    early, late = _early_late(fs)
    b = make_probe("text_difficulty").fit(fs.subset(early), y[early])
    p = b.predict_proba(fs.subset(late))
    assert auroc(p_true[late] >= 0.5, p) > 0.7
    b.save(tmp_path / "t")
    np.testing.assert_allclose(load_probe(tmp_path / "t").predict_proba(fs.subset(late)), p)


def test_training_loss_maps_loss_to_task_mean():
    fs, y, _ = planted(n_questions=100, seed=3)
    steps = sorted(set(fs.step))
    means = {s: y[fs.step == s].mean() for s in steps}
    # a loss that is an exact affine function of logit(task mean) -> the map recovers later task means
    losses = {str(s): float(3.0 - np.log(means[s] / (1 - means[s]))) for s in steps}
    early, late = _early_late(fs)
    b = make_probe("training_loss", losses=losses).fit(fs.subset(early), y[early])
    p = b.predict_proba(fs.subset(late))
    for s in steps[2:]:
        assert p[fs.step[late] == s].mean() == pytest.approx(means[s], abs=1e-6)
    with pytest.raises(ProbecastError, match="no training loss"):
        make_probe("training_loss", losses={"100": 1.0}).fit(fs, y)


def test_baselines_save_load_round_trip(tmp_path):
    fs, y, _ = planted(n_questions=30, seed=4)
    for name in ("carry_forward", "answer_loglik"):
        b = make_probe(name).fit(fs, y)
        b.save(tmp_path / name)
        np.testing.assert_allclose(load_probe(tmp_path / name).predict_proba(fs), b.predict_proba(fs))
