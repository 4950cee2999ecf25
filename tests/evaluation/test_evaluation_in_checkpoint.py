"""In-checkpoint protocol: out-of-fold predictions within each checkpoint, disjoint questions per fold."""

import os

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.evaluation.in_checkpoint import InCheckpointConfig, evaluate_in_checkpoint, task_folds
from probes_synthdata import planted
from unit_pids import record_unit_pids, unit_pids


def test_task_folds_spread_each_task_and_its_successes_evenly():
    tasks = np.array(["a"] * 10 + ["b"] * 7)
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0.75] + [0, 0.25, 1, 1, 1, 1, 0])
    f = task_folds(tasks, y, 3, seed=0)
    for t in ("a", "b"):
        counts = np.bincount(f[tasks == t], minlength=3)
        assert counts.max() - counts.min() <= 1
        pos = np.bincount(f[(tasks == t) & (y >= 0.5)], minlength=3)  # stratified: successes spread too
        assert pos.max() - pos.min() <= 1
    assert not np.array_equal(f, task_folds(tasks, y, 3, seed=1))  # seeded


def test_planted_signal_is_found_and_text_is_not():
    X, y, _ = planted(n_questions=80, steps=(100, 800), dim=8, tasks=("t1", "t2"))
    res = evaluate_in_checkpoint(X, y, ["linear", "text_difficulty", "carry_forward"],
                                 InCheckpointConfig(n_folds=3), {"linear": {"cv": "question"}}, show_progress=False)
    lin = res["methods"]["linear"]
    assert set(lin["auroc_by_task"]) == {"t1", "t2"} and set(lin["auroc_by_checkpoint"]) == {"100", "800"}
    assert lin["auroc_mean"] > 0.8
    assert "carry_forward" not in res["methods"] and res["protocol"]["skipped"] == ["carry_forward"]


def test_needs_two_folds():
    X, y, _ = planted(n_questions=10, steps=(100, 200), dim=4)
    with pytest.raises(ProbecastError, match="n_folds"):
        evaluate_in_checkpoint(X, y, ["linear"], InCheckpointConfig(n_folds=1), show_progress=False)


def test_units_in_two_processes_give_the_same_result(tmp_path, monkeypatch):
    X, y, _ = planted(n_questions=40, steps=(100, 800), dim=6, tasks=("t1", "t2"))
    args = (X, y, ["linear", "text_difficulty"])
    here = record_unit_pids(monkeypatch, tmp_path / "one")
    one = evaluate_in_checkpoint(*args, InCheckpointConfig(n_folds=3), {"linear": {"cv": "question"}}, show_progress=False)
    assert unit_pids(here) == [os.getpid()] * 4  # 2 methods x 2 checkpoints, all in this process
    workers = record_unit_pids(monkeypatch, tmp_path / "two")
    two = evaluate_in_checkpoint(*args, InCheckpointConfig(n_folds=3, n_jobs=2), {"linear": {"cv": "question"}},
                                 show_progress=False)
    assert one["methods"] == two["methods"]
    # and n_jobs was not ignored: every unit ran outside this process, in two distinct workers
    pids = unit_pids(workers)
    assert len(pids) == 4 and os.getpid() not in pids and len(set(pids)) == 2, pids


def test_repeats_average_the_fold_draws_and_their_intervals():
    X, y, _ = planted(n_questions=40, steps=(100, 800), dim=6, tasks=("t1", "t2"))
    methods, params = ["ridge", "text_difficulty"], {"ridge": {"cv": "question"}}
    single = [evaluate_in_checkpoint(X, y, methods, InCheckpointConfig(n_folds=3, seed=s), params,
                                     show_progress=False)["methods"] for s in (0, 1)]
    both = evaluate_in_checkpoint(X, y, methods, InCheckpointConfig(n_folds=3, seed=0, repeats=2), params,
                                  show_progress=False)
    for m in methods:
        assert both["methods"][m]["auroc_mean"] == pytest.approx(np.mean([r[m]["auroc_mean"] for r in single]))
        for t in ("t1", "t2"):
            assert both["methods"][m]["auroc_by_task"][t] == pytest.approx(
                np.mean([r[m]["auroc_by_task"][t] for r in single]))
        lo, hi = both["methods"][m]["auroc_ci"]
        assert lo <= both["methods"][m]["auroc_mean"] <= hi
    assert both["protocol"]["repeats"] == 2
    gap = both["auroc_paired"]["against"]["text_difficulty"]["ridge"]
    assert gap["diff"] == pytest.approx(both["methods"]["ridge"]["auroc_mean"]
                                        - both["methods"]["text_difficulty"]["auroc_mean"])
    with pytest.raises(ProbecastError, match="repeats"):
        evaluate_in_checkpoint(X, y, methods, InCheckpointConfig(repeats=0), params, show_progress=False)


def test_a_vote_beside_its_members_is_their_soft_vote_exactly_as_if_refitted():
    from probecast.evaluation import in_checkpoint as ic

    X, y, _ = planted(n_questions=40, steps=(100, 800), dim=6, tasks=("t1", "t2"))
    members = {"linear": {"cv": "question"}, "ridge": {"cv": "question", "l2_grid": [1.0, 10.0]}}
    vote = {"members": list(members), "params": members}
    cfg = InCheckpointConfig(n_folds=3, repeats=2, bootstrap=None)
    res = evaluate_in_checkpoint(X, y, ["linear", "ridge", "vote"], cfg, {**members, "vote": vote},
                                 show_progress=False)
    assert ic.votes_of_members(["linear", "ridge", "vote"], {**members, "vote": vote}) == {"vote": ["linear", "ridge"]}
    alone = evaluate_in_checkpoint(X, y, ["vote"], cfg, {"vote": vote}, show_progress=False)  # fits its members
    assert ic.votes_of_members(["vote"], {"vote": vote}) == {}
    assert res["methods"]["vote"] == alone["methods"]["vote"]
    # a member run with other parameters than the vote gives it: the vote is fitted, not derived
    assert ic.votes_of_members(["linear", "ridge", "vote"], {"linear": {"cv": "question"}, "vote": vote}) == {}
    assert ic.votes_of_members(["linear", "ridge", "vote"], {**members, "vote": {**vote, "seed": 1}}) == {}
