"""A Hugging Face Trainer run with frozen layers stores its frozen tensors once (`ShareFrozenCallback`), and the
split checkpoints still load, resume the Trainer and survive the Trainer deleting older ones."""

from __future__ import annotations

import pytest
import torch

from probecast.checkpoints.discover import discover_checkpoints
from probecast.checkpoints.load import load_model


def _trainer(model, out, callbacks, max_steps, save_total_limit=None):
    from transformers import Trainer, TrainingArguments

    rows = [{"input_ids": torch.arange(i, i + 12) % model.config.vocab_size} for i in range(16)]
    rows = [{**r, "labels": r["input_ids"].clone()} for r in rows]
    args = TrainingArguments(output_dir=str(out), max_steps=max_steps, save_steps=2, per_device_train_batch_size=4,
                             learning_rate=1e-2, report_to=[], use_cpu=True, save_total_limit=save_total_limit,
                             logging_strategy="no", dataloader_num_workers=0, seed=0)
    return Trainer(model=model, args=args, train_dataset=rows, callbacks=callbacks)


def _weights(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).state_dict()


def _frozen_but_layer_0(tiny_run):
    model, _ = load_model(discover_checkpoints(tiny_run / "step-24")[0], dtype="float32")
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith("model.layers.0.")
    return model


def test_trainer_checkpoints_share_their_frozen_shard_and_resume(tiny_run, tmp_path):
    pytest.importorskip("accelerate")
    from probecast.checkpoints.share import ShareFrozenCallback

    model = _frozen_but_layer_0(tiny_run)
    _trainer(model, tmp_path / "run", [ShareFrozenCallback()], max_steps=4).train()
    folders = [tmp_path / "run" / f"checkpoint-{s}" for s in (2, 4)]
    for f in folders:
        names = sorted(p.name for p in f.glob("model*"))
        assert "model.safetensors" not in names and "model.safetensors.index.json" in names
    frozen = [next(f.glob("model-frozen-*")) for f in folders]
    assert frozen[0].name == frozen[1].name and frozen[0].stat().st_ino == frozen[1].stat().st_ino
    trained = [_weights(f) for f in folders]
    final = model.state_dict()
    assert all(torch.equal(trained[1][k], v) for k, v in final.items())  # the last checkpoint is the model
    assert not torch.equal(trained[0]["model.layers.0.mlp.down_proj.weight"], final["model.layers.0.mlp.down_proj.weight"])
    # the Trainer resumes from a split checkpoint and reaches the same weights as the run that did not stop
    again = _frozen_but_layer_0(tiny_run)
    _trainer(again, tmp_path / "run", [ShareFrozenCallback()], max_steps=4).train(resume_from_checkpoint=str(folders[0]))
    assert all(torch.allclose(again.state_dict()[k], v, atol=1e-6) for k, v in final.items())


def test_rotated_checkpoints_take_nothing_from_the_kept_ones(tiny_run, tmp_path):
    pytest.importorskip("accelerate")
    from probecast.checkpoints.share import ShareFrozenCallback

    model = _frozen_but_layer_0(tiny_run)
    _trainer(model, tmp_path / "run", [ShareFrozenCallback()], max_steps=6, save_total_limit=1).train()
    assert sorted(p.name for p in (tmp_path / "run").glob("checkpoint-*")) == ["checkpoint-6"]
    assert (tmp_path / "run" / "checkpoint-6" / "model.safetensors.index.json").is_file()  # split, its first shard gone
    kept = _weights(tmp_path / "run" / "checkpoint-6")
    assert all(torch.equal(kept[k], v) for k, v in model.state_dict().items())


def test_share_frozen_leaves_a_fully_trained_or_sharded_folder_alone(tiny_run, tmp_path):
    from probecast.checkpoints.share import share_frozen

    model, _ = load_model(discover_checkpoints(tiny_run / "step-24")[0], dtype="float32")
    model.save_pretrained(tmp_path / "all")  # every parameter trains: nothing to share
    assert not share_frozen(tmp_path / "all", model)
    assert sorted(p.name for p in (tmp_path / "all").glob("model*")) == ["model.safetensors"]
    model.model.embed_tokens.weight.requires_grad = False
    model.save_pretrained(tmp_path / "one")
    assert share_frozen(tmp_path / "one", model)
    before = sorted((p.name, p.stat().st_ino) for p in (tmp_path / "one").iterdir())
    assert share_frozen(tmp_path / "one", model)  # already split: untouched
    assert sorted((p.name, p.stat().st_ino) for p in (tmp_path / "one").iterdir()) == before
