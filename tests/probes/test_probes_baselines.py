import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.probes import load_probe, make_probe
from probecast.evaluation.metrics import auroc
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


def _loglik_rows(q_early, q_late, floor, paths, n=4000, seed=0):
    """Rows of one task: early checkpoints (tiny path probability) and late ones; pass@1 = floor + (1 − floor)·
    min(1, paths·q), q = exp(loglik) of the one scored path."""
    from probecast.features.in_memory import featureset_from_arrays  # noqa: F401  (documents the shape)
    from probecast.features.featureset import FeatureSet

    rng = np.random.default_rng(seed)
    q = np.r_[rng.uniform(*q_early, n), rng.uniform(*q_late, n)]
    y = floor + (1 - floor) * np.minimum(1.0, paths * q)
    step = np.r_[np.full(n, 100), np.full(n, 1000)]
    fs = FeatureSet(question_ids=np.array([f"q{i}" for i in range(2 * n)], dtype=object),
                    task=np.full(2 * n, "t", dtype=object), checkpoint=np.array([f"s{s}" for s in step], dtype=object),
                    step=step, hidden_last=np.zeros((2 * n, 1, 1), np.float32), answer_loglik=np.log(q),
                    answer_loglik_mean=np.log(q))
    return fs, y, step == 100


def test_calibrator_separates_guess_floor_from_path_count():
    from probecast.probes.calibration import LoglikCalibrator

    # early successes are guesses (floor 0.02, unrelated to the path's likelihood): a path count fitted on them
    # alone would blow up the late checkpoints; the floor keeps exp(loglik) at face value there
    fs, y, early = _loglik_rows((1e-6, 1e-4), (0.05, 0.9), floor=0.02, paths=1.0)
    cal = LoglikCalibrator().fit(fs.subset(early), y[early])
    assert cal.floors_[0] == pytest.approx(0.02, abs=0.005) and cal.offsets_[0] < 0.2
    late = ~early
    assert np.abs(cal.proba(fs.subset(late)) - y[late]).mean() < 0.02
    # a single-path task with no guesses keeps exp(loglik) exactly
    fs, y, early = _loglik_rows((1e-3, 0.2), (0.05, 0.9), floor=0.0, paths=1.0, seed=1)
    cal = LoglikCalibrator().fit(fs.subset(early), y[early])
    assert cal.floors_[0] < 1e-3 and cal.offsets_[0] < 0.05
    # unlisted paths seen in the training rows become the offset (log of the path count) ...
    fs, y, early = _loglik_rows((1e-3, 0.05), (0.01, 0.1), floor=0.0, paths=3.0, seed=2)
    cal = LoglikCalibrator().fit(fs.subset(early), y[early])
    assert cal.offsets_[0] == pytest.approx(np.log(3.0), abs=0.15)
    # ... but not when the paths' probability is too small to explain any success (a guess on easy questions)
    fs, y, early = _loglik_rows((1e-7, 1e-5), (0.05, 0.3), floor=0.0, paths=1.0, seed=3)
    y = np.where(early & (fs.answer_loglik > np.log(5e-6)), 0.05, y)  # guesses on the "easier" questions
    cal = LoglikCalibrator().fit(fs.subset(early), y[early])
    assert cal.offsets_[0] == 0.0
    assert np.abs(cal.proba(fs.subset(~early)) - y[~early]).mean() < 0.05


def test_calibrator_takes_listed_paths_from_the_features():
    """Three listed paths: the features' log-sum-exp over them is 3x the reference's probability on the
    training rows, so the reference alone predicts later checkpoints (a new checkpoint needs only it)."""
    from dataclasses import replace

    from probecast.probes.calibration import LoglikCalibrator

    fs, y, early = _loglik_rows((1e-3, 0.05), (0.01, 0.3), floor=0.0, paths=3.0, seed=4)
    fs = replace(fs, answer_loglik_paths=fs.answer_loglik + np.log(3.0))
    cal = LoglikCalibrator().fit(fs.subset(early), y[early])
    assert cal.path_counts_[0] == pytest.approx(3.0, rel=1e-6) and cal.offsets_[0] < 0.05
    late = replace(fs.subset(~early), answer_loglik_paths=None)
    assert np.abs(cal.proba(late) - y[~early]).mean() < 0.01


def test_answer_loglik_paths_ranks_by_each_questions_own_paths(tmp_path):
    """Questions differ in how many of their listed paths the model can follow: the reference's probability
    times the task's average path count cannot rank them, their own log-sum-exp can."""
    from dataclasses import replace

    rng = np.random.default_rng(6)
    fs, _, early = _loglik_rows((1e-3, 0.05), (0.01, 0.3), floor=0.0, paths=1.0, seed=6)
    own = rng.choice([1.0, 6.0], size=len(fs))  # paths each question can follow
    y = np.minimum(1.0, own * np.exp(fs.answer_loglik))
    fs = replace(fs, answer_loglik_paths=fs.answer_loglik + np.log(own))
    ref = make_probe("answer_loglik").fit(fs.subset(early), y[early])
    paths = make_probe("answer_loglik_paths").fit(fs.subset(early), y[early])
    late, y_late = fs.subset(~early), y[~early]
    assert paths.needs_alternatives and not ref.needs_alternatives
    assert auroc(y_late >= 0.5, paths.predict_proba(late)) > auroc(y_late >= 0.5, ref.predict_proba(late)) + 0.1
    assert np.abs(paths.predict_proba(late) - y_late).mean() < 0.01
    paths.save(tmp_path / "p")
    np.testing.assert_allclose(load_probe(tmp_path / "p").predict_proba(late), paths.predict_proba(late))
    with pytest.raises(ProbecastError, match="answer_loglik_paths"):
        paths.predict_proba(replace(late, answer_loglik_paths=None))
    hybrid = make_probe("hybrid", paths=True)
    assert hybrid.needs_alternatives and not make_probe("hybrid").needs_alternatives


def test_path_counts_survive_blocks_without_listed_paths():
    """Features written before `answer_loglik_paths` existed concatenate as NaN rows, which the path count skips."""
    from dataclasses import replace

    from probecast.features.featureset import FeatureSet
    from probecast.probes.calibration import LoglikCalibrator

    fs, y, early = _loglik_rows((1e-3, 0.05), (0.01, 0.3), floor=0.0, paths=3.0, seed=5)
    new = replace(fs.subset(early), answer_loglik_paths=fs.answer_loglik[early] + np.log(3.0))
    both = FeatureSet.concat([new, fs.subset(~early)])
    assert np.isnan(both.answer_loglik_paths[len(new):]).all()
    cal = LoglikCalibrator().fit(both.subset(np.arange(len(new))), y[early])
    assert cal.path_counts_[0] == pytest.approx(3.0, rel=1e-6)
    assert LoglikCalibrator().fit(both, np.r_[y[early], y[~early]]).path_counts_[0] == pytest.approx(3.0, rel=1e-6)


def test_multiple_choice_keeps_a_free_offset():
    """A gold choice's log-likelihood is far below 0 while pass@1 (argmax) is high: no floor, a large offset."""
    from dataclasses import replace

    from probecast.probes.calibration import LoglikCalibrator

    rng = np.random.default_rng(6)
    n = 2000
    ll = rng.uniform(-40, -20, n)
    y = 1 / (1 + np.exp(-(ll + 30)))  # success grows with the gold's likelihood, around ll = -30
    fs, _, _ = _loglik_rows((1e-3, 0.05), (0.01, 0.3), floor=0.0, paths=1.0, n=n // 2, seed=6)
    fs = replace(fs, answer_loglik=ll, answer_loglik_mean=ll / 10, multiple_choice=np.ones(n, bool))
    cal = LoglikCalibrator().fit(fs, y)
    assert cal.floors_[0] == 0.0 and cal.offsets_[0] == pytest.approx(30.0, abs=1.0)
    assert auroc(y >= 0.5, cal.proba(fs)) > 0.99
    generative = LoglikCalibrator().fit(replace(fs, multiple_choice=None), y)
    assert generative.offsets_[0] == 0.0  # as generative rows, no path could explain a success


def test_every_method_says_what_it_reads():
    from probecast.probes.base import make_probe

    assert make_probe("linear").inputs() == ["hidden"]
    assert make_probe("linear", include_progress=True).inputs() == ["hidden", "step"]
    assert make_probe("hybrid").inputs() == ["hidden", "answer_loglik"]
    assert {n: make_probe(n).inputs() for n in ("carry_forward", "answer_loglik", "text_difficulty", "training_loss")} == {
        "carry_forward": ["history"], "answer_loglik": ["answer_loglik"], "text_difficulty": ["text"],
        "training_loss": ["training_loss"]}
