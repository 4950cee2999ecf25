import json

import pytest

from probecast.checkpoints.discover import discover_checkpoints, step_from_name
from probecast.checkpoints.load import load_model
from probecast.errors import ProbecastError


@pytest.mark.parametrize("name, step", [("step-100", 100), ("step100", 100), ("step_7", 7), ("checkpoint-250", 250),
                                        ("global_step30", 30), ("iter_0001000", 1000), ("final", None)])
def test_step_patterns(name, step):
    assert step_from_name(name) == step


def test_discovers_run_folder_with_sidecars(tiny_run):
    ckpts = discover_checkpoints(tiny_run)
    assert len(ckpts) == 3 and [c.step for c in ckpts] == sorted(c.step for c in ckpts)
    for c in ckpts:
        assert c.tokens == c.step * 8 * 64 and c.params > 0 and c.flops == pytest.approx(6 * c.params * c.tokens)
        assert c.train_loss > 0 and c.to_record()["train_loss"] == c.train_loss
    single = discover_checkpoints(ckpts[-1].path)
    assert len(single) == 1 and single[0].step == ckpts[-1].step


def test_hf_trainer_layout(tmp_path, tiny_run):
    import shutil

    src = discover_checkpoints(tiny_run)[0].path
    for step in (10, 5):
        d = tmp_path / f"checkpoint-{step}"
        shutil.copytree(src, d)
        (d / "probecast_checkpoint.json").unlink()
        (d / "trainer_state.json").write_text(json.dumps({"global_step": step, "num_input_tokens_seen": step * 100}))
    ckpts = discover_checkpoints(tmp_path)
    assert [(c.id, c.step, c.tokens) for c in ckpts] == [("checkpoint-5", 5, 500), ("checkpoint-10", 10, 1000)]


def test_hub_id_is_recognised_without_network():
    (c,) = discover_checkpoints("EleutherAI/pythia-160m@step3000")
    assert c.path == "EleutherAI/pythia-160m" and c.revision == "step3000" and c.step == 3000


def test_missing_or_empty_folder_errors(tmp_path):
    with pytest.raises(ProbecastError, match="no such checkpoint folder"):
        discover_checkpoints(tmp_path / "nope")
    with pytest.raises(ProbecastError, match="no checkpoints found"):
        discover_checkpoints(tmp_path)


def test_corrupt_weights_and_tokenizer_mismatch(tmp_path, tiny_run):
    import shutil

    from probecast.checkpoints.discover import Checkpoint

    src = discover_checkpoints(tiny_run)[-1].path
    bad = tmp_path / "step-1"
    shutil.copytree(src, bad)
    (bad / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ProbecastError, match="step-1"):
        load_model(Checkpoint(id="step-1", path=str(bad)))
    (bad / "model.safetensors").unlink()
    with pytest.raises(ProbecastError, match="no weights"):
        load_model(Checkpoint(id="step-1", path=str(bad)))
    # a tokenizer with more tokens than the model's embedding rows
    mism = tmp_path / "step-2"
    shutil.copytree(src, mism)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(mism)
    tok.add_tokens([f"<extra{i}>" for i in range(200)])
    tok.save_pretrained(mism)
    with pytest.raises(ProbecastError, match="tokenizer does not belong"):
        load_model(Checkpoint(id="step-2", path=str(mism)))


def test_tokenizer_saved_once_in_the_run_folder(tmp_path, tiny_run):
    import shutil

    from probecast.checkpoints.discover import Checkpoint

    src = discover_checkpoints(tiny_run)[-1].path
    ck = tmp_path / "checkpoint-3"
    shutil.copytree(src, ck)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (ck / f).exists():
            shutil.move(str(ck / f), str(tmp_path / f))
    model, tok = load_model(Checkpoint(id="checkpoint-3", path=str(ck)))
    assert tok("1+1=").input_ids[0] == tok.bos_token_id
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / f).unlink()
    with pytest.raises(ProbecastError, match="no tokenizer files"):
        load_model(Checkpoint(id="checkpoint-3", path=str(ck)))


@pytest.mark.parametrize("entry", [{"path": ""}, {"path": "  "}, {}])
def test_a_recorded_checkpoint_without_a_path_is_refused_before_it_is_loaded(tmp_path, entry):
    """An empty path would load the current folder: refused naming the workspace file and the checkpoint, while
    the other recorded checkpoints can still be chosen."""
    from probecast.resolve import resolve_checkpoints
    from probecast.workspace import Workspace

    ws = Workspace(tmp_path)
    with pytest.raises(ProbecastError, match=r"checkpoints\.json: checkpoint 'b' has no path"):
        ws.add_checkpoints([{"id": "a", "path": str(tmp_path / "a"), "step": 1}, {"id": "b", "step": 2, **entry}])
    assert ws.read_checkpoints() == []  # nothing written, not even the good record
    # written by hand (or by another tool): refused when loaded
    ws.checkpoints_file.write_text(json.dumps([{"id": "a", "path": str(tmp_path / "a"), "step": 1},
                                               {"id": "b", "step": 2, **entry}]))
    assert [c.id for c in resolve_checkpoints(None, ws, "a")] == ["a"]
    with pytest.raises(ProbecastError, match=r"checkpoints\.json: checkpoint 'b' has an empty path; record it again"):
        resolve_checkpoints(None, ws)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"global_step": 7, "total_flos": "lots"}'])
def test_a_damaged_trainer_state_is_named_and_the_step_comes_from_the_folder(tmp_path, capsys, text):
    ck = tmp_path / "checkpoint-7"
    ck.mkdir()
    (ck / "config.json").write_text("{}")
    (ck / "trainer_state.json").write_text(text)
    c = discover_checkpoints(ck)[0]
    assert (c.step, c.tokens, c.flops) == (7, None, None)
    err = capsys.readouterr().err
    assert "note:" in err and "trainer_state.json: unreadable" in err
