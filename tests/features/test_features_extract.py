import numpy as np
import pytest
import torch

from probecast.checkpoints import discover_checkpoints
from probecast.checkpoints.load import load_model
from probecast.features.extract import ExtractConfig, bare_forward, extract_task, reference_answer
from probecast.features.store import load_dataset, load_features, save_features
from probecast.labels.backend import HFBackend
from probecast.tasks import load_tasks
from probecast.workspace import Workspace


@pytest.fixture(scope="module")
def model_and_tasks(tiny_run):
    model, tok = load_model(discover_checkpoints(tiny_run)[-1])
    return model, tok, load_tasks("add,copy,sum3", limit=10)


def test_answer_loglik_matches_backend_and_padding_is_invisible(model_and_tasks):
    model, tok, tasks = model_and_tasks
    backend = HFBackend(model, tok)
    for task in tasks:
        arrays, wall = extract_task(model, tok, task, ExtractConfig(tail_tokens=4, dtype="float32", batch_size=4))
        ref = backend.loglik(task.prompts(), [reference_answer(task, q) for q in task.questions])
        np.testing.assert_allclose(arrays["answer_loglik"], [r[0] for r in ref], atol=1e-4)
        np.testing.assert_allclose(arrays["answer_loglik_mean"], [r[0] / r[1] for r in ref], atol=1e-4)
        # with alternatives (sum3: the terms in any order), scored on the prompt's cache, the paths' log-sum-exp
        every_path = [np.logaddexp.reduce([ll for ll, _ in backend.loglik(
            [task.prompt(q)] * (1 + len(task.alternative_continuations(q))),
            [reference_answer(task, q)] + task.alternative_continuations(q))]) for q in task.questions]
        np.testing.assert_allclose(arrays["answer_loglik_paths"], every_path, atol=1e-4)
        assert (task.name == "sum3") == any(task.alternative_continuations(q) for q in task.questions)
        assert extract_task(model, tok, task, ExtractConfig(alternatives=False))[0]["answer_loglik_paths"] is None
        no_answer = extract_task(model, tok, task, ExtractConfig(answer_loglik=False, answer_pool=False))[0]
        assert no_answer["hidden_answer"] is None and no_answer["answer_loglik"] is None  # the prompts alone
        assert extract_task(model, tok, task, ExtractConfig(answer_pool=False))[0]["hidden_answer"] is None
        # the answer's states without its likelihood: the same states, no LM head, no log-likelihood
        states = extract_task(model, tok, task, ExtractConfig(answer_loglik=False, next_token=False, dtype="float32",
                                                              layers=(0, 1), batch_size=4))[0]
        assert states["answer_loglik"] is None and states["answer_loglik_paths"] is None
        np.testing.assert_allclose(states["hidden_answer"], arrays["hidden_answer"][:, :2], atol=1e-5)
        np.testing.assert_allclose(states["hidden_last"], arrays["hidden_last"][:, :2], atol=1e-5)
        # the batched, right-padded pass gives the same states as one unpadded prompt on its own
        ids = torch.tensor([tok(task.prompts()[3]).input_ids])
        with torch.inference_mode():
            hs = model.model(input_ids=ids, output_hidden_states=True).hidden_states
        np.testing.assert_allclose(arrays["hidden_last"][3], torch.stack(hs)[:, 0, -1].numpy(), atol=1e-4)
        np.testing.assert_allclose(arrays["hidden_mean"][3], torch.stack(hs)[:, 0].mean(1).numpy(), atol=1e-4)
        # the mean over the reference answer's own tokens, teacher-forced after the prompt
        ans = tok(reference_answer(task, task.questions[3]), add_special_tokens=False).input_ids
        with torch.inference_mode():
            hs2 = model.model(input_ids=torch.tensor([ids[0].tolist() + ans]), output_hidden_states=True).hidden_states
        np.testing.assert_allclose(arrays["hidden_answer"][3], torch.stack(hs2)[:, 0, ids.shape[1]:].mean(1).numpy(),
                                   atol=1e-4)
        assert arrays["hidden_last"].shape == (10, model.config.num_hidden_layers + 1, model.config.hidden_size)
        np.testing.assert_allclose(arrays["tail"][:, -1], arrays["hidden_last"][:, -1], atol=1e-5)
        assert arrays["tail_mask"][:, -1].all() and wall > 0
    assert bare_forward(model, tok, tasks[0], batch_size=4) > 0


def test_next_token_statistics_are_the_checkpoints_own_next_token_distribution(model_and_tasks, tmp_path):
    model, tok, tasks = model_and_tasks
    task = tasks[1]
    arrays, _ = extract_task(model, tok, task, ExtractConfig(layers=(0,), dtype="float32", batch_size=3))
    with torch.inference_mode():  # one unpadded prompt at a time, the full model's own logits
        logits = [model(input_ids=torch.tensor([tok(p).input_ids])).logits[0, -1] for p in task.prompts()]
    logp = torch.log_softmax(torch.stack(logits).float(), -1)
    top = logp.topk(2, -1).values
    want = torch.stack([top[:, 0], (logp.exp() * logp).sum(-1), top[:, 0] - top[:, 1]], 1).numpy()
    np.testing.assert_allclose(arrays["next_token"], want, atol=1e-4)  # the final layer, though only 0 is kept
    assert extract_task(model, tok, task, ExtractConfig(next_token=False))[0]["next_token"] is None
    ws = Workspace(tmp_path)
    save_features(ws, "step-5", 5, task.name, [q.id for q in task.questions], arrays, {})
    np.testing.assert_array_equal(load_features(ws, "step-5", task.name).next_token, arrays["next_token"])


def test_layer_selection_and_store_roundtrip(model_and_tasks, tmp_path):
    model, tok, tasks = model_and_tasks
    task = tasks[0]
    arrays, _ = extract_task(model, tok, task, ExtractConfig(layers=(0, -1)))
    assert arrays["hidden_last"].shape[1] == 2 and arrays["hidden_last"].dtype == np.float16
    ws = Workspace(tmp_path)
    qids = [q.id for q in task.questions]
    save_features(ws, "step-5", 5, task.name, qids, arrays, {"settings": {"x": 1}, "prompts": task.prompts()})
    fs = load_features(ws, "step-5", task.name)
    assert list(fs.question_ids) == qids and fs.hidden_last.dtype == np.float32 and list(fs.text) == task.prompts()
    assert set(fs.step) == {5} and fs.tail is None and fs.multiple_choice is None  # written before the flag
    one = load_features(ws, "step-5", task.name, layers=(1,))  # only what a probe reads, from disk
    assert one.layer_ids == (1,) and one.hidden_last.dtype == np.float32
    np.testing.assert_array_equal(one.hidden_last, fs.hidden_last[:, [1]])
    np.testing.assert_array_equal(one.hidden_mean, fs.hidden_mean[:, [1]])
    assert load_features(ws, "step-5", task.name, layers=()).hidden_last.shape == (len(qids), 0, fs.dim)
    save_features(ws, "step-6", 6, task.name, qids, arrays, {"questions": [q.text for q in task.questions],
                                                              "multiple_choice": "false"})
    fs = load_features(ws, "step-6", task.name)
    assert list(fs.text) == [q.text for q in task.questions] and not fs.multiple_choice.any()


def test_load_dataset_aligns_labels(model_and_tasks, tmp_path):
    import pandas as pd

    model, tok, tasks = model_and_tasks
    task = tasks[1]
    ws = Workspace(tmp_path)
    arrays, _ = extract_task(model, tok, task, ExtractConfig())
    qids = [q.id for q in task.questions]
    save_features(ws, "c", 10, task.name, qids, arrays, {})
    labels = pd.DataFrame({"checkpoint": "c", "step": 10, "task": task.name, "question_id": qids[::-1][:7],
                           "pass1": np.linspace(0, 1, 7)})
    ws.write_labels("c", task.name, labels, {})
    fs, lab = load_dataset(ws, ["c"], [task.name], max_step=100)
    assert len(fs) == 7 and list(lab["question_id"]) == list(fs.question_ids)
    assert np.allclose(fs.progress, np.log1p(10) / np.log1p(100))
