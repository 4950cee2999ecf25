"""The hook path (chosen layers pooled as produced, early exit, token-budget batches) gives the features of the
all-layers `output_hidden_states` path."""

import numpy as np
import pytest
import torch

from probecast.features import extract as ex
from probecast.features.extract import ExtractConfig, length_batches, extract_task
from probecast.features.layer_tap import tap_layers
from probecast.tasks import load_tasks


@pytest.fixture(scope="module")
def model_and_tasks(tiny_model):
    return (*tiny_model, load_tasks("add,sum3", limit=12))


def _close(a, b, atol=2e-5):
    """Every array of two extractions equal within `atol` (0: exactly), the same ones absent."""
    for k in a:
        if a[k] is None or b[k] is None:
            assert a[k] is None and b[k] is None, k
        else:
            np.testing.assert_allclose(np.asarray(a[k], np.float64), np.asarray(b[k], np.float64), atol=atol,
                                       rtol=0 if atol == 0 else 1e-7, err_msg=k)


@pytest.mark.parametrize("cfg", [
    ExtractConfig(dtype="float32", tail_tokens=4, batch_size=5),  # every layer + answer pass + paths
    ExtractConfig(dtype="float32", layers=(1, -1), answer_loglik=False, answer_pool=False, batch_size=5),  # no answer
    ExtractConfig(dtype="float32", layers=(0, 2), mean_pool=False, answer_loglik=False, answer_pool=False,
                  tail_tokens=3, tail_layer=1, batch_tokens=64),  # early exit after block 2, token-budget batches
    ExtractConfig(dtype="float32", layers=(0, 2), answer_loglik=False, next_token=False,
                  batch_size=5),  # the answer's states (its tokens in the pass), early exit after block 2
])
def test_tap_path_equals_all_layers_path(model_and_tasks, cfg):
    model, tok, tasks = model_and_tasks
    for task in tasks:
        new, _ = extract_task(model, tok, task, cfg)
        old, _ = extract_task(model, tok, task, cfg, tap=False)
        _close(new, old)


def test_hidden_state_indices_match_transformers(model_and_tasks):
    """hidden_states[0] = embeddings, [i] = block i's output, [last] = the final norm's output."""
    model, tok, _ = model_and_tasks
    ids = torch.tensor([tok("3+4=").input_ids])
    got = {}
    n = model.config.num_hidden_layers + 1
    with torch.inference_mode(), tap_layers(model.model, range(n), lambda i, h: got.setdefault(i, h.clone())):
        hs = model.model(input_ids=ids, output_hidden_states=True).hidden_states
    assert sorted(got) == list(range(n))
    for i in range(n):
        torch.testing.assert_close(got[i], hs[i])


def test_early_exit_runs_only_the_blocks_it_needs(model_and_tasks, monkeypatch):
    model, tok, tasks = model_and_tasks
    calls = []
    handles = [layer.register_forward_hook(lambda m, a, o, i=i: calls.append(i)) for i, layer in enumerate(model.model.layers)]
    try:
        for pool in (False, True):  # the answer's states alone (answer_pool) need no deeper block either
            extract_task(model, tok, tasks[0], ExtractConfig(layers=(1,), answer_loglik=False, next_token=False,
                                                             answer_pool=pool, batch_size=100))
            assert calls == [0]  # hidden_states[1] = block 0's output: block 1 never runs
            calls.clear()
        extract_task(model, tok, tasks[0], ExtractConfig(layers=(1,), answer_loglik=False, batch_size=100))
        assert calls == list(range(len(model.model.layers)))  # the next-token distribution needs the full depth
        calls.clear()
        extract_task(model, tok, tasks[0], ExtractConfig(layers=(1,), answer_loglik=True, batch_size=100))
        assert calls[:len(model.model.layers)] == list(range(len(model.model.layers)))  # the answer needs them all
    finally:
        for h in handles:
            h.remove()


def test_answer_tokens_are_in_the_pass_only_for_its_likelihood_or_its_states(model_and_tasks, monkeypatch):
    model, tok, tasks = model_and_tasks
    widths = []
    real = ex.pad_right
    monkeypatch.setattr(ex, "pad_right", lambda seqs, pad: widths.append(max(map(len, seqs))) or real(seqs, pad))
    task = tasks[0]
    extract_task(model, tok, task, ExtractConfig(answer_loglik=False, answer_pool=False, batch_size=100))
    prompt_only = max(len(tok(p).input_ids) for p in task.prompts())
    assert widths == [prompt_only]
    widths.clear()
    extract_task(model, tok, task, ExtractConfig(answer_loglik=False, answer_pool=True, batch_size=100))
    assert widths == [max(len(s) for s in ex.encode(tok, task, with_answer=True)[0])] and widths[0] > prompt_only


def test_token_budget_batches():
    lengths = [10, 50, 20, 30, 100, 5]
    got = length_batches(lengths, batch_size=32, batch_tokens=60)
    assert sorted(np.concatenate(got).tolist()) == list(range(6))
    for b in got:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 60
    assert [len(b) for b in length_batches(lengths, batch_size=4, batch_tokens=None)] == [4, 2]
    assert [b.tolist() for b in length_batches([100], 8, 10)] == [[0]]  # longer than the budget: a batch of its own
