import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.probes import load_probe, make_probe
from probecast.evaluation.metrics import auroc
from probes_synthdata import planted, question_split


@pytest.mark.parametrize("kind", ["linear", "ridge"])
def test_linear_probe_finds_planted_layer_and_ranks_held_out_questions(kind):
    fs, y, p_true = planted(n_questions=150, layer=2, seed=0)
    tr, te = question_split(fs)
    probe = make_probe(kind).fit(fs.subset(tr), y[tr])
    assert probe.layer_ == 2
    p = probe.predict_proba(fs.subset(te))
    assert p.shape == (te.sum(),) and np.all((p >= 0) & (p <= 1))
    assert auroc(p_true[te] >= 0.5, p) > 0.9
    # the chance-level layers score clearly worse in CV than the planted one
    table = probe.cv_table_.min(axis=0)
    assert table[2] < np.delete(table, 2).min() - 0.05


def test_linear_probe_fixed_layer_and_pooling_both():
    fs, y, _ = planted(n_questions=80, seed=1)
    probe = make_probe("linear", layer=1, pooling="both", include_progress=True).fit(fs, y)
    assert probe.layer_ == 1 and probe.coef_.shape == (2 * fs.dim + 1,)


def test_linear_save_load_round_trip(tmp_path):
    fs, y, _ = planted(n_questions=60, seed=2)
    probe = make_probe("linear", include_progress=True).fit(fs, y)
    probe.save(tmp_path / "p")
    again = load_probe(tmp_path / "p")
    assert type(again) is type(probe) and again.get_params() == probe.get_params()
    np.testing.assert_allclose(again.predict_proba(fs), probe.predict_proba(fs), rtol=1e-6, atol=1e-7)


def test_linear_clear_errors():
    fs, y, _ = planted(n_questions=30, seed=3)
    with pytest.raises(ProbecastError, match="targets"):
        make_probe("linear").fit(fs, y[:-1])
    with pytest.raises(ProbecastError, match="empty"):
        make_probe("linear").fit(fs.subset(np.zeros(len(fs), bool)), y[:0])
    with pytest.raises(ProbecastError, match="not fitted"):
        make_probe("linear").predict_proba(fs)
    with pytest.raises(ProbecastError, match="unknown parameter"):
        make_probe("linear", layr=1)
    with pytest.raises(ProbecastError, match="unknown probe"):
        make_probe("nope")
    probe = make_probe("linear").fit(fs, y)
    other, _, _ = planted(n_questions=10, dim=8, seed=4)
    with pytest.raises(ProbecastError, match="shape"):
        probe.predict_proba(other)
    assert probe.predict_proba(fs.subset(np.zeros(len(fs), bool))).shape == (0,)


def test_question_folds_are_stratified_by_task_and_label_and_keep_questions_whole():
    from probecast.probes.inputs import stratified_question_folds
    rng = np.random.default_rng(0)
    q = np.repeat(np.arange(60), 2)  # 60 questions, 2 checkpoints each
    tasks = np.where(q < 30, "a", "b")
    y_q = (rng.random(60) < np.where(np.arange(60) < 30, 0.2, 0.7)).astype(float)
    y = y_q[q]
    folds = stratified_question_folds(q, tasks, y, 3, seed=0)
    assert len(folds) == 3
    seen = np.concatenate([va for _, va in folds])
    assert sorted(seen) == list(range(len(q)))  # every row validated exactly once
    for tr, va in folds:
        assert not set(q[tr]) & set(q[va])  # a question never on both sides
        for t in ("a", "b"):
            for c in (0.0, 1.0):
                n_all = np.sum((tasks == t) & (y == c)) // 2
                n_va = np.sum((tasks[va] == t) & (y[va] == c)) // 2
                assert abs(n_va - n_all / 3) <= 1  # each fold an even share of the task's successes and failures
    with pytest.raises(ProbecastError, match="2 distinct questions"):
        stratified_question_folds(np.zeros(4), tasks[:4], y[:4], 3, seed=0)


@pytest.mark.parametrize("kind", ["linear", "ridge"])
def test_task_intercepts_rank_inside_tasks_when_tasks_differ_in_base_rate(kind, tmp_path):
    """Two tasks whose hidden states sit apart along a direction unrelated to success inside either task, with
    opposite base rates: with a free intercept per task the weights are fitted on what ranks questions inside a
    task; the fitted probe saves, loads, and gives an unseen task the mean intercept."""
    from probecast.features.featureset import FeatureSet
    rng = np.random.default_rng(5)
    fs, y, p_true = planted(n_questions=60, steps=(100, 200), dim=24, layer=1, tasks=("a", "b"), seed=5, signal=1.0)
    b = fs.task == "b"
    shift = rng.normal(size=fs.dim).astype(np.float32)
    fs.hidden_last[b] += 4.0 * shift  # task b's states sit elsewhere, in every layer
    y = np.where(b, y * 0.2, np.minimum(1.0, y + 0.5))  # and it mostly fails
    tr, te = question_split(fs, frac=0.4, seed=2)
    fe = make_probe(kind, cv="question", task_intercepts=True, l2_grid=[1.0, 10.0]).fit(fs.subset(tr), y[tr])
    assert fe.layer_ == 1 and fe.intercept_.shape == (3,)  # two tasks + their mean
    p = fe.predict_proba(fs.subset(te))
    def within(p):
        return np.mean([auroc(p_true[te][fs.task[te] == t] >= 0.5, p[fs.task[te] == t]) for t in "ab"])

    plain = make_probe(kind, cv="question", l2_grid=[1.0, 10.0]).fit(fs.subset(tr), y[tr])
    assert within(p) > 0.85 and within(p) > within(plain.predict_proba(fs.subset(te))) + 0.1
    assert p[fs.task[te] == "a"].mean() > p[fs.task[te] == "b"].mean() + 0.3  # calibrated per task
    fe.save(tmp_path / "p")
    again = load_probe(tmp_path / "p")
    np.testing.assert_allclose(again.predict_proba(fs), fe.predict_proba(fs), rtol=1e-6, atol=1e-7)
    other = fs.subset(te)
    unseen = FeatureSet(**{**other.__dict__, "task": np.array(["c"] * len(other), dtype=object)})
    z = fe.decision_function(unseen) - fe.decision_function(other)
    assert np.allclose(z[other.task == "a"], fe.platt_[0] * (fe.intercept_[2] - fe.intercept_[0]))


def test_task_intercepts_auto_lets_the_cv_choose():
    """"auto" cross-validates both variants and keeps the better: per-task intercepts where tasks differ in base
    rate along a direction unrelated to success, one intercept on a single task (nothing to tell apart)."""
    rng = np.random.default_rng(5)
    fs, y, _ = planted(n_questions=60, steps=(100, 200), dim=24, layer=1, tasks=("a", "b"), seed=5, signal=1.0)
    b = fs.task == "b"
    fs.hidden_last[b] += 4.0 * rng.normal(size=fs.dim).astype(np.float32)
    y = np.where(b, y * 0.2, np.minimum(1.0, y + 0.5))
    auto = make_probe("linear", cv="question", task_intercepts="auto", l2_grid=[1.0, 10.0]).fit(fs, y)
    assert auto.task_intercepts_ is True and auto.intercept_.shape == (3,)
    one, y1, _ = planted(n_questions=40, steps=(100, 200), dim=8, seed=6)  # one task: both variants are one fit
    assert make_probe("ridge", cv="question", task_intercepts="auto").fit(one, y1).task_intercepts_ is False
    with pytest.raises(ProbecastError, match="task_intercepts"):
        make_probe("linear", task_intercepts="maybe").fit(fs, y)


def test_probe_specs_parse_parameters():
    from probecast.probes.base import parse_probe_spec, split_probe_specs
    assert split_probe_specs("linear, ridge:l2_grid=[1,10]:cv=question,") == ["linear", "ridge:l2_grid=[1,10]:cv=question"]
    assert parse_probe_spec("ridge") == ("ridge", {})
    assert parse_probe_spec("ridge:task_intercepts=true:cv=question:l2_grid=[1,2]") == \
        ("ridge", {"task_intercepts": True, "cv": "question", "l2_grid": [1, 2]})
    with pytest.raises(ProbecastError, match="key=value"):
        parse_probe_spec("ridge:oops")
