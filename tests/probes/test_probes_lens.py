"""logit_lens: a logistic regression on the checkpoint's next-token confidence (FeatureSet.next_token)."""

from dataclasses import replace

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.evaluation import metrics as M
from probecast.probes.base import load_probe, make_probe

from probes_synthdata import planted


def _with_confidence(fs, y, seed=0):
    """next_token columns: the first two track success (plus noise), the margin is noise."""
    rng = np.random.default_rng(seed)
    signal = np.log(np.clip(y, 0.02, 0.98)) + rng.normal(0, 0.3, len(y))
    stats = np.stack([signal, 0.5 * signal + rng.normal(0, 0.3, len(y)), rng.normal(0, 1, len(y))], 1)
    return replace(fs, next_token=stats.astype(np.float32))


def test_logit_lens_ranks_by_confidence_and_round_trips(tmp_path):
    fs, y, _ = planted(n_questions=60, steps=(100, 400), layer=2)
    fs = _with_confidence(fs, y)
    probe = make_probe("logit_lens").fit(fs, y)
    p = probe.predict_proba(fs)
    assert M.auroc((y >= 0.5).astype(float), p) > 0.8
    assert probe.inputs() == ["hidden"]  # the final hidden state read through the LM head: no answer, label, text
    assert probe.reads().next_token and probe.reads().layers == () and not probe.reads().answer_loglik
    probe.save(tmp_path / "lens")
    np.testing.assert_allclose(load_probe(tmp_path / "lens").predict_proba(fs), p, atol=1e-12)
    shuffled = make_probe("logit_lens").fit(fs, np.random.default_rng(1).permutation(y))  # no signal left
    assert M.auroc((y >= 0.5).astype(float), shuffled.predict_proba(fs)) < M.auroc((y >= 0.5).astype(float), p)


def test_logit_lens_names_what_is_missing():
    fs, y, _ = planted(n_questions=20, steps=(100, 400), layer=2)
    with pytest.raises(ProbecastError, match="probecast extract"):
        make_probe("logit_lens").fit(fs, y)


def test_logit_lens_ranks_inside_each_task_when_tasks_disagree():
    """Two tasks: the more confident one fails more often (between tasks, confidence and success run the wrong
    way), while inside each task the confident questions succeed. Per-task intercepts keep the slope right."""
    fs, y, _ = planted(n_questions=60, steps=(100, 400), layer=2, tasks=("easy", "hard"))
    rng = np.random.default_rng(0)
    within = np.log(np.clip(y, 0.02, 0.98)) + rng.normal(0, 0.3, len(y))
    hard = fs.task.astype(str) == "hard"
    y = np.where(hard, y * 0.3, y)
    stats = np.stack([within + 6.0 * hard] * 3, 1).astype(np.float32)  # the hard task looks far more confident
    fs = replace(fs, next_token=stats)
    p = make_probe("logit_lens").fit(fs, y).predict_proba(fs)
    for task in ("easy", "hard"):
        m = fs.task.astype(str) == task
        assert M.auroc((y[m] >= np.median(y[m])).astype(float), p[m]) > 0.75
    with pytest.raises(ProbecastError, match="statistic"):
        make_probe("logit_lens", statistic="mode").fit(fs, y)


def test_lens_ridge_averages_its_members_logits_and_reads_both(tmp_path):
    fs, y, _ = planted(n_questions=60, steps=(100, 400), layer=2)
    fs = _with_confidence(fs, y)
    probe = make_probe("lens_ridge").fit(fs, y)
    lens, ridge = make_probe("logit_lens").fit(fs, y), make_probe("ridge").fit(fs, y)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(logit(probe.predict_proba(fs)),
                               0.5 * (logit(lens.predict_proba(fs)) + logit(ridge.predict_proba(fs))), atol=1e-6)
    assert probe.inputs() == ["hidden"]  # a pure hidden-state probe
    reads = probe.reads()
    assert reads.next_token and reads.layers == (ridge.layer_,) and not reads.answer_loglik
    probe.save(tmp_path / "lr")
    np.testing.assert_allclose(load_probe(tmp_path / "lr").predict_proba(fs), probe.predict_proba(fs), atol=1e-12)
    keep = list(reads.layers)  # what the monitor extracts for it: the ridge layer (+ the next-token statistics)
    part = replace(fs, hidden_last=fs.hidden_last[:, keep], hidden_mean=fs.hidden_mean[:, keep], layer_ids=reads.layers)
    np.testing.assert_allclose(load_probe(tmp_path / "lr").predict_proba(part), probe.predict_proba(fs), atol=1e-6)
    assert M.auroc((y >= 0.5).astype(float), probe.predict_proba(fs)) > 0.8


def test_lens_ridge_hands_its_cv_and_l2_grid_to_the_ridge_member():
    """Inside one checkpoint the ridge member must cross-validate over stratified question folds with the
    grid it is given, as `ridge` does there (the in-checkpoint protocol's parameters)."""
    fs, y, _ = planted(n_questions=60, steps=(100, 400), layer=2)
    fs = _with_confidence(fs, y)
    params = {"cv": "question", "l2_grid": [1.0, 100.0]}
    probe = make_probe("lens_ridge", **params).fit(fs, y)
    assert probe.ridge_.config.cv == "question" and probe.ridge_.config.l2_grid == [1.0, 100.0]
    assert probe.ridge_.l2_ in (1.0, 100.0)
    ridge = make_probe("ridge", **params).fit(fs, y)
    assert probe.ridge_.layer_ == ridge.layer_ and probe.ridge_.l2_ == ridge.l2_
    np.testing.assert_allclose(probe.ridge_.decision_function(fs), ridge.decision_function(fs), atol=1e-9)
    with pytest.raises(ProbecastError, match="cv"):
        make_probe("lens_ridge", cv="steps").fit(fs, y)
