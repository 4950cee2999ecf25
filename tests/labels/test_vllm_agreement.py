"""vLLM labels agree with HF labels on the real model (SmolLM2-135M, float32, one engine start).

Greedy completions identical on >= 95 % of questions; sampled pass@1 per task not different beyond binomial noise
(paired sign-flip permutation test, `labels/agreement.py`, on a task whose pass@1 is neither 0 nor 1 so the test
can fail); multiple-choice log-likelihoods equal within float32 tolerance and the same choice picked. vLLM reads
the model as a fine-tuning run saves it (a trained and a frozen shard with an index, `hf_folder`), HF the fetched
single file, so the test also shows vLLM loads those checkpoints whole.
Skipped without vLLM (`make vllm`) or without the fetched model (`make models`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from probecast.labels.vllm_backend import vllm_available

pytestmark = pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (`make vllm`)")

DATA = Path(__file__).parent / "data"
ALPHA = 0.01  # a failure means p < 1 %: the engines sample differently, not bad luck
LOGLIK_TOL = 2e-3  # nats per continuation, float32 on both sides


@pytest.fixture(scope="module")
def smollm2():
    from probecast.models.fetch import cached_model

    path = cached_model("smollm2")
    if path is None:
        pytest.skip("SmolLM2 is not fetched; run `make models`")
    return path


def test_vllm_labels_agree_with_hf(smollm2, shared_data, tmp_path):
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import free_model, load_model
    from probecast.hf_folder import write_hf_folder
    from probecast.labels.agreement import AgreementConfig, compare_backends
    from probecast.labels.backend import HFBackend
    from probecast.labels.vllm_backend import VLLMBackend
    from probecast.tasks.loaders import load_gsm8k, load_jsonl_task, load_piqa

    (ckpt,) = discover_checkpoints(smollm2)
    add = load_jsonl_task(DATA / "add2.jsonl")  # few-shot 2-digit addition: pass@1 ~ 0.2 at temperature 1
    gsm8k = load_gsm8k(shared_data / "benchmarks" / "gsm8k", n_fewshot=0, limit=12)
    piqa = load_piqa(shared_data / "benchmarks" / "piqa", limit=10)
    model, tok = load_model(ckpt)
    top = {k for k in model.state_dict() if k.startswith(("model.layers.29.", "model.norm"))}
    write_hf_folder(model, tok, tmp_path / "sharded", tmp_path / "sharded", top)
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    (sharded,) = discover_checkpoints(tmp_path / "sharded")
    hf = HFBackend(model, tok, seed=0)
    with VLLMBackend(sharded, seed=0) as vllm:
        sampled = compare_backends(hf, vllm, [add, piqa], AgreementConfig())
        greedy = compare_backends(hf, vllm, [gsm8k], AgreementConfig(sampled=False, greedy_max_new_tokens=48))
    free_model(model)
    print(sampled, greedy)

    a = sampled["add2"]
    assert 0.05 < a["pass1_a"] < 0.95, a  # not degenerate: a sampling difference would show
    assert a["p_value"] > ALPHA, a
    n_same = a["greedy_identical"] * a["questions"] + greedy["gsm8k"]["greedy_identical"] * greedy["gsm8k"]["questions"]
    assert n_same / (a["questions"] + greedy["gsm8k"]["questions"]) >= 0.95, (a, greedy)
    p = sampled["piqa"]
    assert p["loglik_max_abs_diff"] < LOGLIK_TOL and p["choice_agreement"] == 1.0, p
