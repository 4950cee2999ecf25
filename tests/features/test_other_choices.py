"""The other choices of a multiple-choice question: their states pooled as extra rows of the extraction pass
(`ExtractConfig.others_pool`, `hidden_others`) and read against the gold choice's (`pooling="contrast"`)."""

import json

import numpy as np
import pytest
import torch

from probecast.errors import ProbecastError
from probecast.features.extract import ExtractConfig, extract_task
from probecast.features.featureset import FeatureSet
from probecast.features.in_memory import featureset_from_arrays
from probecast.features.plan import FeatureReads, plan_extraction
from probecast.features.shared_prefix import PrefixStates
from probecast.features.store import load_features, save_features
from probecast.probes.inputs import hidden_block
from probecast.tasks import load_tasks
from probecast.workspace import Workspace
from embedded_run import retrain_top


@pytest.fixture(scope="module")
def mc(tiny_model, tmp_path_factory):
    """Questions with 2 to 4 choices of different lengths, the gold one anywhere."""
    rows = [{"question": f"{i}+{i}=", "choices": [str(2 * i + k) * (1 + k % 2) for k in range(2 + i % 3)],
             "answer": i % (2 + i % 3)} for i in range(9)]
    path = tmp_path_factory.mktemp("mc") / "mc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return (*tiny_model, load_tasks(str(path))[0])


def _answer_mean(model, tok, task, q, choice: str) -> np.ndarray:
    """[layers, dim]: the mean state over `choice`'s tokens after the prompt, one unpadded pass of its own."""
    ctx = tok(task.prompt(q)).input_ids
    ans = tok(task.template.choice_prefix + choice, add_special_tokens=False).input_ids
    with torch.inference_mode():
        hs = model.model(input_ids=torch.tensor([ctx + ans]), output_hidden_states=True).hidden_states
    return torch.stack(hs)[:, 0, len(ctx):].mean(1).numpy()


def test_other_choices_are_pooled_as_extra_rows_of_the_pass(mc):
    model, tok, task = mc
    cfg = ExtractConfig(dtype="float32", batch_size=4, tail_tokens=2)
    got, _ = extract_task(model, tok, task, cfg)
    alone, _ = extract_task(model, tok, task, ExtractConfig(dtype="float32", batch_size=4, tail_tokens=2,
                                                            others_pool=False))
    assert alone["hidden_others"] is None
    for k, v in alone.items():  # the extra rows change nothing of the questions' own arrays
        if v is not None:
            assert got[k].shape == v.shape and np.allclose(got[k], v, atol=1e-5, equal_nan=True), k
    for i, q in enumerate(task.questions):
        others = [_answer_mean(model, tok, task, q, c) for j, c in enumerate(q.choices) if j != q.gold]
        np.testing.assert_allclose(got["hidden_others"][i], np.mean(others, axis=0), atol=1e-4)
        np.testing.assert_allclose(got["hidden_answer"][i], _answer_mean(model, tok, task, q, q.choices[q.gold]),
                                   atol=1e-4)
    # what a contrast probe's plan asks for: the answer's and the others' states at its layers, no LM head
    plan, _ = plan_extraction(cfg, FeatureReads(layers=(0, 1), pooling="contrast"))
    assert plan.answer_pool and plan.others_pool and not plan.answer_loglik and not plan.next_token
    cheap, _ = extract_task(model, tok, task, plan)
    np.testing.assert_allclose(cheap["hidden_others"], got["hidden_others"][:, :2], atol=1e-5)
    assert cheap["answer_loglik"] is None
    assert not plan_extraction(cfg, FeatureReads(pooling="answer"))[0].others_pool
    assert not plan_extraction(cfg, FeatureReads(pooling="last"))[0].answer_pool


def test_a_generative_task_has_no_other_choices(tiny_model):
    model, tok = tiny_model
    task = load_tasks("add", limit=5)[0]
    got, _ = extract_task(model, tok, task, ExtractConfig(dtype="float32"))
    assert got["hidden_others"] is None and got["hidden_answer"] is not None
    X = featureset_from_arrays(task, "c", 1, got)
    np.testing.assert_array_equal(hidden_block(X, "contrast"), hidden_block(X, "answer"))  # the answer alone


def test_contrast_reads_the_gold_choice_against_the_others(mc, tmp_path):
    model, tok, task = mc
    got, _ = extract_task(model, tok, task, ExtractConfig(dtype="float32"))
    X = featureset_from_arrays(task, "c", 1, got)
    np.testing.assert_allclose(hidden_block(X, "contrast", [1]), (X.hidden_answer - X.hidden_others)[:, [1]])
    assert hidden_block(X, "last_contrast").shape[-1] == 2 * X.dim
    # stored and read back, also a few layers only
    ws = Workspace(tmp_path)
    save_features(ws, "c", 1, task.name, [q.id for q in task.questions], got, {"multiple_choice": "true"})
    back = load_features(ws, "c", task.name, layers=(1, 2))
    np.testing.assert_allclose(back.hidden_others, got["hidden_others"][:, 1:3], atol=1e-6)
    # mixed with a generative task: its rows get zeros, so their contrast is their answer's states
    gen = load_tasks("add", limit=4)[0]
    both = FeatureSet.concat([X, featureset_from_arrays(gen, "c", 1, extract_task(model, tok, gen,
                                                                                  ExtractConfig(dtype="float32"))[0])])
    assert both.hidden_others is not None and not both.hidden_others[len(X):].any()
    # `choice`: the difference on the multiple-choice rows, zeros on the others (weights of its own in a joint fit)
    block = hidden_block(both, "last_answer_choice", [1])
    np.testing.assert_allclose(block[:len(X), 0, 2 * X.dim:], (X.hidden_answer - X.hidden_others)[:, 1], atol=1e-6)
    assert not block[len(X):, 0, 2 * X.dim:].any() and block[len(X):, 0, X.dim:2 * X.dim].any()
    assert plan_extraction(ExtractConfig(), FeatureReads(pooling="last_answer_choice"))[0].others_pool
    # features of a multiple-choice task from before the other choices were kept: a one-line error, what to do
    old = FeatureSet.concat([featureset_from_arrays(task, "c", 1, {**got, "hidden_others": None})])
    with pytest.raises(ProbecastError, match=r"hidden_others.*extract --force"):
        hidden_block(old, "contrast")


def test_replayed_checkpoints_pool_the_other_choices_as_the_full_pass_does(mc):
    model, tok, task = mc
    cfg = ExtractConfig(dtype="float32", layers=(0, 1), answer_loglik=False, next_token=False, batch_size=5)
    states = PrefixStates()
    modes = []
    for m in (model, retrain_top(model, 1), retrain_top(model, 2)):
        plan = states.plan_extraction(m, task, cfg)
        got, _ = extract_task(m, tok, task, cfg, prefix=plan)
        modes.append(None if plan is None else plan.mode)
        full, _ = extract_task(m, tok, task, cfg)
        np.testing.assert_allclose(got["hidden_others"], full["hidden_others"], atol=0)
        np.testing.assert_allclose(got["hidden_answer"], full["hidden_answer"], atol=0)
    assert modes == [None, "replay", "replay"]
