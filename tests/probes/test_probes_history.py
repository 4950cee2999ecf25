"""hybrid_history: the hybrid stacker with the question's last known label."""

import numpy as np

from probecast.evaluation.metrics import auroc
from probecast.features.featureset import FeatureSet
from probecast.probes import load_probe, make_probe
from probecast.probes.inputs import last_labels
from probes_synthdata import planted


def _persistent_case(seed: int = 3):
    """Success persists per question; the hidden states carry almost nothing and the answer's likelihood is
    noise, so only the earlier label knows which questions will pass."""
    fs, y, p_true = planted(n_questions=160, steps=(100, 200, 400, 800), signal=0.05, seed=seed, n_samples=8)
    rng = np.random.default_rng(seed)
    fs.answer_loglik = np.log(rng.uniform(0.01, 1, len(fs)))
    fs.answer_loglik_mean = fs.answer_loglik / 3
    return fs, y, p_true


def test_history_column_carries_what_features_miss():
    fs, y, p_true = _persistent_case()
    early, late = fs.step < 800, fs.step == 800
    history = last_labels(fs.subset(early), y[early])
    with_history = make_probe("hybrid_history", history=history).fit(fs.subset(early), y[early])
    plain = make_probe("hybrid").fit(fs.subset(early), y[early])
    target = p_true[late] >= 0.5
    a_hist = auroc(target, with_history.predict_proba(fs.subset(late)))
    a_plain = auroc(target, plain.predict_proba(fs.subset(late)))
    a_carry = auroc(target, make_probe("carry_forward").fit(fs.subset(early), y[early]).predict_proba(fs.subset(late)))
    assert a_hist > a_plain + 0.15 and a_hist > a_carry - 0.03, (a_hist, a_plain, a_carry)
    assert with_history.inputs() == ["hidden", "answer_loglik", "history"]


def test_training_rows_read_the_previous_checkpoint_not_their_own_label():
    fs, y, _ = _persistent_case(seed=4)
    probe = make_probe("hybrid_history")
    probe.history_, probe.task_last_ = {}, {"t": 0.5}
    keys = np.char.add(np.char.add(fs.task.astype(str), "\x1f"), fs.question_ids.astype(str))
    probe.train_prev_ = {(k, int(s)): 0.9 for k, s in zip(keys, fs.step)}
    assert np.allclose(probe._history_column(fs), np.log(0.9 / 0.1))
    fitted = make_probe("hybrid_history").fit(fs, y)
    assert not hasattr(fitted, "train_prev_")  # predictions read the last labels only
    q0_last = y[(fs.question_ids == "q0") & (fs.step == 800)][0]
    assert fitted.history_["t\x1fq0"] == q0_last


def test_save_load_round_trip(tmp_path):
    fs, y, _ = _persistent_case(seed=5)
    probe = make_probe("hybrid_history").fit(fs, y)
    probe.save(tmp_path / "h")
    again = load_probe(tmp_path / "h")
    np.testing.assert_allclose(again.predict_proba(fs), probe.predict_proba(fs), rtol=1e-5, atol=1e-6)


def _mixed_kinds_case(seed: int = 6):
    """Two tasks over four checkpoints. `mc` (multiple choice): labels fixed per question, the gold choice's
    likelihood is unrelated to them. `gen` (generative): success rises with training and exp(loglik) tracks it,
    so the last known label goes stale. One weight for both kinds has to trade one task against the other."""
    rng = np.random.default_rng(seed)
    fs_mc, _, _ = planted(n_questions=120, steps=(100, 200, 400, 800), signal=0.0, seed=seed, tasks=("mc",))
    fs_gen, _, p_gen = planted(n_questions=120, steps=(100, 200, 400, 800), signal=0.0, seed=seed + 1,
                               tasks=("gen",))
    fs = FeatureSet.concat([fs_mc, fs_gen])
    is_mc = fs.task == "mc"
    q = np.array([int(s[1:]) for s in fs.question_ids])
    y = np.where(is_mc, (rng.random(120)[q] < 0.6).astype(float), 0.0)  # fixed per question
    y[~is_mc] = rng.binomial(8, p_gen) / 8
    ll = np.empty(len(fs))
    ll[is_mc] = np.log(rng.uniform(0.05, 0.9, is_mc.sum()))
    ll[~is_mc] = np.log(np.clip(p_gen + rng.normal(0, 0.03, len(p_gen)), 1e-4, 1))
    fs.answer_loglik, fs.answer_loglik_mean = ll, ll / 3
    fs.multiple_choice = is_mc
    return fs, y


def test_by_kind_gives_each_label_kind_its_own_weights():
    fs, y = _mixed_kinds_case()
    early, late = fs.step < 800, fs.step == 800
    history = last_labels(fs.subset(early), y[early])
    scores = {}
    for by_kind in (False, True):
        p = make_probe("hybrid_history", history=history, by_kind=by_kind).fit(fs.subset(early), y[early]) \
            .predict_proba(fs.subset(late))
        t = fs.task[late]
        scores[by_kind] = {k: auroc(y[late][t == k] >= 0.5, p[t == k]) for k in ("mc", "gen")}
        scores[by_kind]["err_gen"] = abs(p[t == "gen"].mean() - y[late][t == "gen"].mean())
    assert scores[True]["mc"] > 0.95 and scores[True]["gen"] > scores[False]["gen"] + 0.02, scores
    assert scores[True]["err_gen"] < scores[False]["err_gen"], scores


def test_probes_saved_before_by_kind_still_load(tmp_path):
    import json
    fs, y, _ = _persistent_case(seed=7)
    old = make_probe("hybrid_history", by_kind=False).fit(fs, y)
    old.save(tmp_path / "h")
    meta = json.loads((tmp_path / "h" / "config.json").read_text())
    del meta["config"]["by_kind"]  # as written before the option existed
    (tmp_path / "h" / "config.json").write_text(json.dumps(meta))
    again = load_probe(tmp_path / "h")
    assert again.config.by_kind is False
    np.testing.assert_allclose(again.predict_proba(fs), old.predict_proba(fs), rtol=1e-5, atol=1e-6)
