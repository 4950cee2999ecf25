import json

import numpy as np
import pandas as pd
import pytest

from probecast.errors import ProbecastError
from probecast.evaluation.evaluate import evaluate
from probecast.evaluation.splits import SplitConfig, make_split
from probes_synthdata import planted

CONTRACT = {"auroc_mean", "auroc_by_task", "brier_mean", "task_abs_err_mean", "spearman_mean"}
FAST = {"mlp": {"max_epochs": 20}, "attn_layers": {"max_epochs": 20}, "attn_tokens": {"max_epochs": 20}}


def _data(**kw):
    fs, y, p_true = planted(n_questions=80, steps=(100, 200, 400, 800, 1600), tasks=("a", "b"), tail_len=3, **kw)
    labels = pd.DataFrame({"pass1": y, "sample_correct": (np.random.default_rng(0).random(len(y)) < p_true) * 1.0})
    return fs, labels


def test_split_is_earlier_predicts_later_on_held_out_questions():
    fs, _ = _data(seed=0)
    sp = make_split(fs, SplitConfig(n_train_checkpoints=2, test_fraction=0.25))
    assert sp.train_checkpoints == ["step100", "step200"] and sp.test_checkpoints == ["step400", "step800", "step1600"]
    train_q = set(zip(fs.task[sp.train], fs.question_ids[sp.train]))
    test_q = set(zip(fs.task[sp.test], fs.question_ids[sp.test]))
    assert not train_q & test_q and len(test_q) == sp.n_test_questions == 40
    assert fs.step[sp.train].max() < fs.step[sp.test].min()
    assert sp.history.sum() == 2 * 2 * 80  # every question at the train checkpoints


def test_a_tasks_held_out_questions_do_not_depend_on_the_other_tasks():
    def held_out(tasks, n_questions, seed=0):
        fs, _, _ = planted(n_questions=n_questions, steps=(100, 200, 400), tasks=tasks, tail_len=3, seed=0)
        sp = make_split(fs, SplitConfig(n_train_checkpoints=1, seed=seed))
        return {(t, q) for t, q in zip(fs.task[sp.test], fs.question_ids[sp.test]) if t == "b"}

    alone = held_out(("b",), 40)
    assert len(alone) == 12
    assert held_out(("a", "b", "c"), 40) == alone  # tasks added before and after it in name order
    assert held_out(("a", "b"), 40) == held_out(("b", "c"), 40)
    assert held_out(("b",), 40, seed=1) != alone  # the split's seed still chooses


def test_evaluate_produces_the_summary_contract(tmp_path):
    from probecast.workspace import Workspace

    fs, labels = _data(seed=1)
    losses = {s: 4.0 - np.log(s) / 5 for s in (100, 200, 400, 800, 1600)}
    res = evaluate(fs, labels, probe_params=FAST, train_loss=losses, multistep_tasks=["b"],
                   ws=Workspace(tmp_path), show_progress=False)
    s = json.loads(json.dumps(res.summary, allow_nan=False))  # strict JSON
    assert set(s["probes"]) == {"linear", "ridge", "mlp", "attn_layers", "attn_tokens", "hybrid", "hybrid_history"}
    assert {"carry_forward", "answer_loglik", "text_difficulty", "training_loss"} <= set(s["baselines"])
    for block in list(s["probes"].values()) + list(s["baselines"].values()):
        assert CONTRACT <= set(block) and set(block["auroc_by_task"]) == {"a", "b"}
    assert s["test_checkpoints"] == [400, 800, 1600] and s["split"]["n_test_questions"] == 48
    best = s["probes"][s["best_probe"]]["auroc_mean"]
    assert best > 0.8 and best >= s["baselines"]["answer_loglik"]["auroc_mean"] - 0.01
    assert s["probes"]["hybrid"]["auroc_mean"] >= s["baselines"]["answer_loglik"]["auroc_mean"] - 0.01
    assert set(res.summary_parts()) == {"probes", "baselines", "split"}
    assert set(s["multistep"]["probes"]) >= {"linear", "mlp"} and s["multistep"]["tasks"] == ["b"]
    assert (tmp_path / "probes" / "hybrid" / "config.json").exists()
    # metrics were computed on test rows only
    assert set(res.rows["checkpoint"]) == {"step400", "step800", "step1600"}
    n_methods = len(s["probes"]) + len(s["baselines"])
    assert len(res.table) == n_methods * 2 * 3  # methods × tasks × test checkpoints


def test_auroc_falls_back_to_pooled_when_a_checkpoint_is_one_class():
    fs, labels = _data(seed=2)
    y = labels["pass1"].to_numpy().copy()
    y[fs.step == 800] = 1.0  # every question solved at 800: per-checkpoint AUROC undefined there
    labels["pass1"] = y
    s = evaluate(fs, labels, probes=["linear"], baselines=["carry_forward"], show_progress=False,
                 split=SplitConfig(n_train_checkpoints=3)).summary
    assert s["probes"]["linear"]["auroc_source_by_task"] == {"a": "per_checkpoint", "b": "per_checkpoint"}
    y[fs.step == 1600] = 0.0
    labels["pass1"] = y
    s = evaluate(fs, labels, probes=["linear"], baselines=["carry_forward"], show_progress=False,
                 split=SplitConfig(n_train_checkpoints=3)).summary
    assert s["probes"]["linear"]["auroc_source_by_task"]["a"] == "pooled"
    assert s["probes"]["linear"]["auroc_by_task"]["a"] is not None


def test_evaluate_errors():
    fs, labels = _data(seed=3)
    with pytest.raises(ProbecastError, match="no labelled checkpoint after"):
        evaluate(fs, labels, split=SplitConfig(n_train_checkpoints=5), show_progress=False)
    with pytest.raises(ProbecastError, match="training_loss"):
        evaluate(fs, labels, baselines=["training_loss"], show_progress=False)


def test_training_loss_baseline_is_skipped_when_a_checkpoint_has_no_loss():
    fs, labels = _data(seed=2)
    losses = {s: 4.0 - np.log(s) / 5 for s in (100, 200, 400, 800)}  # step 1600 has none
    res = evaluate(fs, labels, probes=["linear"], train_loss=losses, show_progress=False)
    assert "training_loss" not in res.summary["baselines"]
    assert "1600" in res.summary["skipped"]["training_loss"]


def test_a_vote_reuses_its_members_fitted_on_the_same_rows_and_gives_what_a_refit_gives(monkeypatch):
    from probecast.probes.linear import RidgeProbe

    fs, labels = _data(seed=2)
    vote = {"members": ["linear", "ridge"], "params": {"ridge": {"l2_grid": [1.0, 10.0]}}}
    params = {"ridge": {"l2_grid": [1.0, 10.0]}, "vote": vote}
    fits = []
    real_fit = RidgeProbe._fit
    monkeypatch.setattr(RidgeProbe, "_fit", lambda self, X, y: fits.append(1) or real_fit(self, X, y))
    both = evaluate(fs, labels, probes=["linear", "ridge", "vote"], baselines=[], probe_params=params,
                    show_progress=False, bootstrap=None)
    assert len(fits) == 1  # ridge fitted once, for itself and for the vote
    alone = evaluate(fs, labels, probes=["vote"], baselines=[], probe_params=params, show_progress=False,
                     bootstrap=None)
    assert len(fits) == 2
    p = both.rows[both.rows["method"] == "vote"]["p"].to_numpy()
    np.testing.assert_array_equal(p, alone.rows["p"].to_numpy())
    # a member run with other parameters than the vote gives it is fitted again for the vote
    evaluate(fs, labels, probes=["ridge", "vote"], baselines=[], probe_params={"vote": vote}, show_progress=False,
             bootstrap=None)
    assert len(fits) == 4
