"""`probecast finetune` on the tiny embedded run: checkpoints, sidecars, frozen layers, resumability."""

from __future__ import annotations

import json

import pytest
import torch

from probecast.errors import ProbecastError
from probecast.finetune.data import encode_pairs, training_pairs
from probecast.finetune.train import FinetuneConfig, collate, finetune


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"{a}+{b}=", "completion": str(a + b)}) + "\n"
                            for a in range(6) for b in range(6)))
    return path


def small(pairs_file, **kw) -> FinetuneConfig:
    """A few steps of the tiny run's top block on the pairs file."""
    return FinetuneConfig(**{"task": str(pairs_file), "steps": 4, "batch_size": 4, "n_checkpoints": 2, "train_layers": 1,
                             "lr": 1e-2, "warmup": 1, "max_len": 32, **kw})


def test_save_steps_even_with_base():
    assert FinetuneConfig(steps=200, n_checkpoints=4).save_steps() == [0, 50, 100, 150, 200]
    assert FinetuneConfig(steps=5, n_checkpoints=4, save_base=False).save_steps() == [1, 2, 4, 5]


def test_collate_masks_the_prompt():
    ids, mask, labels = collate([([5, 6, 7, 8], 2), ([5, 9, 3], 1)], pad=0)
    assert ids.tolist() == [[5, 6, 7, 8], [5, 9, 3, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert labels.tolist() == [[-100, -100, 7, 8], [-100, 9, 3, -100]]


def test_training_pairs_sources(pairs_file, tmp_path):
    pairs = training_pairs(str(pairs_file), limit=5)
    assert len(pairs) == 5 and all(p.endswith("=") for p, _ in pairs)
    assert training_pairs(str(pairs_file)) != sorted(training_pairs(str(pairs_file)))  # shuffled
    task = tmp_path / "qa.jsonl"
    task.write_text(json.dumps({"question": "2+2=", "answer": "4"}) + "\n")
    assert training_pairs(str(task)) == [("2+2=", "4")]
    with pytest.raises(ProbecastError, match="training data must be"):
        training_pairs("no_such_source")


def test_finetune_saves_checkpoints_and_freezes_lower_layers(tiny_run, pairs_file, tmp_path):
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model

    base = tiny_run / "step-24"
    out = tmp_path / "ft"
    cfg = small(pairs_file)
    records = finetune(base, out, cfg, progress=False)
    assert [r["step"] for r in records] == [0, 2, 4]
    ckpts = discover_checkpoints(out)
    assert [c.step for c in ckpts] == [0, 2, 4]
    side = json.loads((out / "step-4" / "probecast_checkpoint.json").read_text())
    assert side["tokens"] > 0 and side["flops"] == pytest.approx(6 * side["params"] * side["tokens"])
    assert side["train_layers"] == 1 and side["train_loss"] > 0
    step0 = json.loads((out / "step-0" / "probecast_checkpoint.json").read_text())
    assert step0["tokens"] == 0 and step0["train_loss"] > 0  # the starting model's loss
    m0, _ = load_model(ckpts[0])
    m4, _ = load_model(ckpts[-1])
    w0, w4 = m0.state_dict(), m4.state_dict()
    top = m0.config.num_hidden_layers - 1
    changed = {k for k in w0 if not torch.equal(w0[k], w4[k])}
    assert changed and all(k.startswith((f"model.layers.{top}.", "model.norm")) for k in changed)
    base_w = load_model(discover_checkpoints(base)[0])[0].state_dict()
    assert all(torch.equal(base_w[k], w0[k]) for k in w0)  # step-0 is the starting model
    # the frozen tensors are stored once: every checkpoint's frozen shard is the same file (hard links)
    shards = [next((out / f"step-{s}").glob("model-frozen-*.safetensors")) for s in (0, 2, 4)]
    assert len({(p.stat().st_dev, p.stat().st_ino) for p in shards}) == 1 and shards[0].stat().st_nlink == 3
    assert not any((out / f"step-{s}" / "model.safetensors").exists() for s in (0, 2, 4))
    # a finished run is reused, not retrained
    mtime = (out / "step-4" / "model-trained.safetensors").stat().st_mtime
    assert finetune(base, out, cfg, progress=False) == records
    assert (out / "step-4" / "model-trained.safetensors").stat().st_mtime == mtime


def test_finetune_errors(tiny_run, pairs_file, tmp_path):
    with pytest.raises(ProbecastError, match="needs one checkpoint"):
        finetune(tiny_run, tmp_path / "x", FinetuneConfig(task=str(pairs_file), steps=1), progress=False)
    with pytest.raises(ProbecastError, match="--train-layers must be in"):
        finetune(tiny_run / "step-24", tmp_path / "y", FinetuneConfig(task=str(pairs_file), steps=1, train_layers=99),
                 progress=False)


def test_encode_pairs_appends_eos_and_truncates(tiny_run):
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model

    _, tok = load_model(discover_checkpoints(tiny_run / "step-24")[0])
    ((ids, plen),) = encode_pairs(tok, [("1+2=", "3")], max_len=64)
    assert ids[-1] == tok.eos_token_id and plen == len(tok("1+2=").input_ids)
    assert encode_pairs(tok, [("1+2=", "3")], max_len=plen) == []  # no supervised token left


def test_lora_checkpoints_are_plain_models_with_the_adapters_merged(tiny_run, pairs_file, tmp_path):
    pytest.importorskip("peft")
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model

    base = tiny_run / "step-24"
    out = tmp_path / "lora"
    cfg = small(pairs_file, lr=5e-2, lora_rank=2)
    records = finetune(base, out, cfg, progress=False)
    side = json.loads((out / "step-4" / "probecast_checkpoint.json").read_text())
    assert side["lora_rank"] == 2 and side["trainable_params"] < 0.2 * side["params"]
    m0, _ = load_model(discover_checkpoints(out)[0])
    m4, _ = load_model(discover_checkpoints(out)[-1])
    base_w = load_model(discover_checkpoints(base)[0])[0].state_dict()
    w0, w4 = m0.state_dict(), m4.state_dict()
    assert set(w4) == set(base_w)  # a plain checkpoint: no adapter or base_layer keys
    assert all(torch.equal(base_w[k], w0[k]) for k in w0)  # B = 0 at the start: step-0 is the starting model
    top = m0.config.num_hidden_layers - 1
    changed = {k for k in w0 if not torch.equal(w0[k], w4[k])}
    assert changed and all(k.startswith(f"model.layers.{top}.") and k.endswith("proj.weight") for k in changed)
    assert [r["step"] for r in records] == [0, 2, 4]
    index = json.loads((out / "step-4" / "model.safetensors.index.json").read_text())
    trained = {k for k, f in index["weight_map"].items() if f == "model-trained.safetensors"}
    assert changed <= trained and all(k.endswith("proj.weight") for k in trained)  # only the adapted layers
    assert len({p.stat().st_ino for p in out.glob("step-*/model-frozen-*.safetensors")}) == 1


def test_frozen_shards_are_shared_only_when_their_content_is_the_same(tiny_run, tmp_path):
    """The frozen shard is named and linked by its content: a tensor called frozen that did change gets its own
    file (nothing is lost, only the saving), a folder whose tensors all change stays one file, and a run whose
    checkpoints cannot be hard-linked keeps copies."""
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.hf_folder import write_hf_folder

    model, tok = load_model(discover_checkpoints(tiny_run / "step-24")[0])
    top = {k for k in model.state_dict() if k.startswith("model.layers.0.")}
    write_hf_folder(model, tok, tmp_path / ".a", tmp_path / "a", top)
    (tmp_path / ".a").rename(tmp_path / "a")
    with torch.no_grad():
        model.model.embed_tokens.weight[0, 0] += 1.0  # not in `top`: the frozen part differs
    write_hf_folder(model, tok, tmp_path / ".b", tmp_path / "b", top)
    (tmp_path / ".b").rename(tmp_path / "b")
    a, b = (next((tmp_path / n).glob("model-frozen-*")) for n in "ab")
    assert a.name != b.name and a.stat().st_nlink == b.stat().st_nlink == 1
    reloaded = load_model(discover_checkpoints(tmp_path / "b")[0])[0].state_dict()
    assert all(torch.equal(reloaded[k], v) for k, v in model.state_dict().items())
    write_hf_folder(model, tok, tmp_path / ".c", tmp_path / "c", set(model.state_dict()))
    assert sorted(p.name for p in (tmp_path / ".c").glob("model*")) == ["model.safetensors"]


def test_a_later_checkpoint_writes_only_its_trained_tensors_and_equals_a_whole_save(tiny_run, tmp_path, monkeypatch):
    """After a run's first split checkpoint, the next ones are not saved whole and split again: save_pretrained gets
    only the trained tensors and the frozen shard is linked. Every file equals what the whole save and split give;
    a run split otherwise (another trained set) is saved whole."""
    import filecmp

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.hf_folder import write_hf_folder

    model, tok = load_model(discover_checkpoints(tiny_run / "step-24")[0])
    top = {k for k in model.state_dict() if k.startswith("model.layers.0.")}
    saved, real_save = [], type(model).save_pretrained

    def recording(self, folder, *args, state_dict=None, **kw):
        saved.append(None if state_dict is None else set(state_dict))
        return real_save(self, folder, *args, state_dict=state_dict, **kw)

    monkeypatch.setattr(type(model), "save_pretrained", recording)

    def save(run, name, changing):
        (tmp_path / run).mkdir(exist_ok=True)
        write_hf_folder(model, tok, tmp_path / run / f".{name}", tmp_path / run / name, changing)
        (tmp_path / run / f".{name}").rename(tmp_path / run / name)

    save("run", "a", top)
    with torch.no_grad():
        model.model.layers[0].mlp.down_proj.weight[0, 0] += 0.5
    save("run", "b", top)
    save("alone", "b", top)
    assert saved == [None, top, None]  # whole, trained only, whole
    direct, whole = tmp_path / "run" / "b", tmp_path / "alone" / "b"
    files = sorted(p.name for p in direct.iterdir())
    assert files == sorted(p.name for p in whole.iterdir()) and "model.safetensors" not in files
    assert all(filecmp.cmp(direct / f, whole / f, shallow=False) for f in files)
    frozen = next(direct.glob("model-frozen-*"))
    assert frozen.stat().st_ino == (tmp_path / "run" / "a" / frozen.name).stat().st_ino
    save("run", "c", top | {"model.norm.weight"})  # another split than the run's: whole, then split
    assert saved[-1] is None
    reloaded = load_model(discover_checkpoints(direct)[0])[0].state_dict()
    assert all(torch.equal(reloaded[k], v) for k, v in model.state_dict().items())


def test_without_hard_links_the_frozen_shard_is_a_copy(tiny_run, tmp_path, monkeypatch):
    import os

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.hf_folder import write_hf_folder

    model, tok = load_model(discover_checkpoints(tiny_run / "step-24")[0])
    top = {k for k in model.state_dict() if k.startswith("model.layers.0.")}
    write_hf_folder(model, tok, tmp_path / ".a", tmp_path / "a", top)
    (tmp_path / ".a").rename(tmp_path / "a")

    def no_links(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    write_hf_folder(model, tok, tmp_path / ".b", tmp_path / "b", top)
    a, b = (next(p.glob("model-frozen-*")) for p in (tmp_path / "a", tmp_path / ".b"))
    assert a.name == b.name and a.stat().st_ino != b.stat().st_ino and a.read_bytes() == b.read_bytes()


def test_lora_merge_reproduces_the_adapted_model(tiny_run):
    pytest.importorskip("peft")
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.finetune.lora import merged_into, wrap_lora

    model, _ = load_model(discover_checkpoints(tiny_run / "step-24")[0], dtype="float32")
    ids = torch.randint(0, model.config.vocab_size, (2, 7))
    before = model(input_ids=ids).logits
    peft_model, plain = wrap_lora(model, rank=4, alpha=8.0, train_layers=None, seed=0)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
        adapted = peft_model(input_ids=ids).logits
        merged = merged_into(peft_model, plain)(input_ids=ids).logits
        again = peft_model(input_ids=ids).logits
    assert not torch.allclose(adapted, before, atol=1e-3)  # the adapters change the model
    torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(again, adapted)  # merging into the copy leaves the training model as it was
    with pytest.raises(ProbecastError, match="--lora must be a rank"):
        wrap_lora(model, rank=0, alpha=None, train_layers=None, seed=0)


def test_a_finished_run_made_with_other_settings_is_refused_naming_the_options(tiny_run, pairs_file, tmp_path):
    base = tiny_run / "step-24"
    out = tmp_path / "ft"
    cfg = small(pairs_file, steps=2, n_checkpoints=1)
    records = finetune(base, out, cfg, progress=False)
    run = json.loads((out / "run.json").read_text())
    del run["config"]["lora_rank"], run["config"]["lora_alpha"]  # a run made before finetune had --lora
    (out / "run.json").write_text(json.dumps(run))
    assert finetune(base, out, cfg, progress=False) == records  # the same settings: reused
    before = (out / "run.json").read_bytes()
    from dataclasses import replace

    for other, says in [(replace(cfg, steps=3), "--steps 2 (now 3)"), (replace(cfg, lora_rank=4), "--lora None (now 4)"),
                        (replace(cfg, train_layers=None), "--train-layers/--full 1 (now None)")]:
        with pytest.raises(ProbecastError, match="holds a finished run made with other settings") as err:
            finetune(base, out, other, progress=False)
        assert says in str(err.value) and "another --out" in str(err.value)
    with pytest.raises(ProbecastError, match="SOURCE"):
        finetune(tiny_run / "step-8", out, cfg, progress=False)  # another starting checkpoint
    assert (out / "run.json").read_bytes() == before


def test_split_takes_the_tensors_from_the_saved_model_not_a_second_read(tiny_run, tmp_path):
    """The split reads a tensor from the file only where the model's state dict lacks it (or holds it with another
    shape or dtype): a large model is not loaded a second time beside itself. Either source gives the same digest."""
    from safetensors.torch import load_file

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.hf_folder import split_frozen

    model, tok = load_model(discover_checkpoints(tiny_run / "step-24")[0])
    top = {k for k in model.state_dict() if k.startswith("model.layers.0.")}
    names = {}
    for name, state in {"file": None, "state": model.state_dict()}.items():
        model.save_pretrained(tmp_path / name)
        split_frozen(tmp_path / name, top, tmp_path / f"{name}-run", state)
        names[name] = next((tmp_path / name).glob("model-frozen-*")).name
    assert names["file"] == names["state"]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    norm = "model.norm.weight"
    state[norm] += 1.0  # a marker: where this value lands, the tensor came from the state
    state["model.embed_tokens.weight"] = state["model.embed_tokens.weight"].double()  # another dtype: from the file
    model.save_pretrained(tmp_path / "marked")
    split_frozen(tmp_path / "marked", top, tmp_path / "marked-run", state)
    saved = load_file(next((tmp_path / "marked").glob("model-frozen-*")))
    assert torch.equal(saved[norm], state[norm])
    assert torch.equal(saved["model.embed_tokens.weight"], model.state_dict()["model.embed_tokens.weight"])
