"""The backend registry: one place chooses hf / vllm, loads or borrows the model, frees what it loaded."""

from __future__ import annotations

import pytest

from probecast.checkpoints.discover import discover_checkpoints
from probecast.errors import ProbecastError
from probecast.labels.backend import HFBackend, SamplingConfig
from probecast.labels.backends import BackendConfig, BackendPerCheckpoint, make_backend
from probecast.monitor.audit import AuditConfig, open_audit_backend


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ProbecastError, match=r"--backend 'tgi'.*choose one of hf, vllm"):
        BackendConfig(name="tgi")
    with pytest.raises(ProbecastError, match="--audit-backend"):
        AuditConfig(backend="nope")
    assert BackendConfig("hf").needs_hf_model and not BackendConfig("vllm").needs_hf_model


def test_cli_rejects_unknown_backend_with_exit_2(tmp_path, capsys):
    from probecast.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["label", "--ws", str(tmp_path / "w"), "--tasks", "add", "--backend", "tgi"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error:") and "'--backend'" in err and "'tgi'" in err
    assert not (tmp_path / "w").exists()  # checked before anything is written


def test_vllm_audit_needs_a_checkpoint_folder():
    with pytest.raises(ProbecastError, match="no checkpoint folder"):
        open_audit_backend(AuditConfig(backend="vllm"), "step-3", 3, None)
    assert open_audit_backend(AuditConfig(), "step-3", 3, None) is None  # hf: the in-memory model


def test_hf_backend_loaded_per_checkpoint_and_freed(tiny_run):
    ckpts = discover_checkpoints(tiny_run)
    with BackendPerCheckpoint(BackendConfig(batch_size=8)) as per:
        first = per.get(ckpts[0])
        assert isinstance(first, HFBackend) and first.owns_model
        assert per.get(ckpts[0]) is first  # same checkpoint: same backend, loaded once
        second = per.get(ckpts[1])
        assert second is not first and first.model is None  # moving on freed the previous model
    assert second.model is None


def test_borrowed_model_is_not_freed_and_fixed_length_generation(tiny_run):
    from probecast.checkpoints.load import load_model
    from probecast.labels.hf_sampler import sample_compacting

    (ckpt, *_) = discover_checkpoints(tiny_run)
    model, tok = load_model(ckpt)
    backend = make_backend("hf", ckpt, model, tok)
    out = backend.generate(["a"], SamplingConfig(n=2, max_new_tokens=5, min_new_tokens=5, stop=()))
    assert len(out[0]) == 2
    enc = tok(["a", "bc"], return_tensors="pt", padding=True)
    new = sample_compacting(model, enc["input_ids"], enc["attention_mask"], 3, max_new_tokens=5, min_new_tokens=5,
                            eos_ids=[tok.eos_token_id])
    assert [len(x) for x in new] == [5] * 6 and tok.eos_token_id not in sum(new, [])  # EOS suppressed
    backend.close()
    assert backend.model is model


def test_hf_backend_falls_back_to_generate_for_a_model_the_loop_cannot_drive(tiny_run, monkeypatch):
    """When the sampling loop cannot drive a model (its forward takes no DynamicCache / position ids: TypeError),
    the backend samples with `model.generate`, with the same settings."""
    import probecast.labels.hf_sampler as sampler
    from probecast.checkpoints.load import load_model

    (ckpt, *_) = discover_checkpoints(tiny_run)
    model, tok = load_model(ckpt)
    generate, calls = model.generate, []
    model.generate = lambda **kw: calls.append(kw) or generate(**kw)
    monkeypatch.setattr(sampler, "sample_compacting", lambda *a, **k: (_ for _ in ()).throw(TypeError("no cache")))
    out = HFBackend(model, tok).generate(["a", "bc"], SamplingConfig(n=2, max_new_tokens=4, min_new_tokens=4, stop=()))
    assert [len(x) for x in out] == [2, 2] and calls[0]["min_new_tokens"] == 4 and calls[0]["num_return_sequences"] == 2


def test_hf_loglik_equals_one_pair_at_a_time_over_the_full_logits(tiny_run):
    """The batched log-likelihood (length-sorted, right-padded, LM head only where a continuation token is
    predicted) equals the plain computation: each pair alone, log-softmax over every position's logits."""
    import torch

    from probecast.checkpoints.load import load_model

    model, tok = load_model(discover_checkpoints(tiny_run)[-1])
    contexts = ["12+30=", "7+5=", "the cat sat on the", "1+1=", "abc"]
    continuations = ["42", "12", " mat today", "2", "def ghi jk"]
    got = HFBackend(model, tok, batch_size=2).loglik(contexts, continuations)
    backend = HFBackend(model, tok)
    for (ll, n), c, x in zip(got, contexts, continuations):
        ctx, cont = backend.encode_pair(c, x)
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=torch.tensor([ctx + cont])).logits[0].float(), dim=-1)
        want = sum(float(logp[len(ctx) - 1 + k, t]) for k, t in enumerate(cont))
        assert n == len(cont) and ll == pytest.approx(want, abs=1e-4)


def test_compacting_sampler_writes_what_generate_writes(smollm2, monkeypatch):
    """The labelling loop (one prefill shared by a prompt's samples, finished rows dropped from the batch and its
    KV cache) against `model.generate` on a left-padded batch whose rows stop at different steps: greedy
    completions identical in float32 (single-token and multi-token stop strings), and near-greedy sampling
    (T = 0.01) the same on ≥ 90 % of samples (session 5's first shared prefill sat at shifted positions: 2 of
    48 equal, and sampled pass@1 collapsed)."""
    import torch

    import probecast.labels.hf_sampler as sampler
    from probecast.checkpoints.load import load_model
    from probecast.tasks.skills import SKILLS, generate

    model, tok = load_model(discover_checkpoints(smollm2)[-1], dtype="float32")
    prompts = [f"Question: {row['question']}\nAnswer:" for name in ("list_last", "word_add", "weekday")
               for row in generate(SKILLS[name], 4, seed=3)]
    assert len({len(tok(p).input_ids) for p in prompts}) > 3  # the batch is padded
    enc = tok(prompts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        lengths = {len(x) for x in sampler.sample_compacting(model, enc["input_ids"], enc["attention_mask"], 1,
                                                             max_new_tokens=14, eos_ids=[tok.eos_token_id, 198],
                                                             greedy=True)}
    assert len(lengths) > 2  # rows left the batch at different steps

    def both(cfg):
        loop = HFBackend(model, tok, batch_size=64).generate(prompts, cfg)
        with monkeypatch.context() as m:  # the loop refused: HFBackend falls back to `model.generate`
            m.setattr(sampler, "sample_compacting", lambda *a, **k: (_ for _ in ()).throw(TypeError("refused")))
            return loop, HFBackend(model, tok, batch_size=64).generate(prompts, cfg)

    for stop in (("\n",), ("\n", "list is")):
        loop, plain = both(SamplingConfig(n=1, greedy=True, max_new_tokens=14, stop=stop))
        assert loop == plain, (stop, loop[:3], plain[:3])
    loop, plain = both(SamplingConfig(n=2, temperature=0.01, top_p=1.0, max_new_tokens=8))
    same = sum(a == b for s, p in zip(loop, plain) for a, b in zip(s, p))
    assert same >= 0.9 * 2 * len(prompts), (same, loop[:3], plain[:3])
