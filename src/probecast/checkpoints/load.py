"""Load one checkpoint (model + tokenizer) through transformers' Auto classes; one model in memory at a time.

Checks what breaks silently otherwise: missing/corrupt weights and a tokenizer whose vocabulary does not fit
the model's embedding matrix.
"""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path

from probecast.checkpoints.discover import Checkpoint
from probecast.errors import ProbecastError

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "auto": "auto"}


def load_model(ckpt: Checkpoint, dtype: str = "float32", device: str = "cpu"):
    """Return (model, tokenizer) in eval mode; tokenizer pads on the left for batched generation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # probecast shows its own progress

    if dtype not in _DTYPES:
        raise ProbecastError(f"unknown dtype {dtype!r}; choose one of {sorted(_DTYPES)}")
    torch_dtype = "auto" if _DTYPES[dtype] == "auto" else getattr(torch, _DTYPES[dtype])
    kwargs = {"revision": ckpt.revision} if ckpt.revision else {}
    if ckpt.gguf_file:
        kwargs["gguf_file"] = ckpt.gguf_file
    path = Path(ckpt.path)
    if path.is_dir() and not ckpt.gguf_file:
        if not any((path / f).exists() for f in ("model.safetensors", "model.safetensors.index.json",
                                                  "pytorch_model.bin", "pytorch_model.bin.index.json")):
            raise ProbecastError(f"{path}: checkpoint has no weights (model.safetensors / pytorch_model.bin); "
                                 f"it may still be being written or was deleted")
    tok_source = _tokenizer_source(path) if path.is_dir() and not ckpt.gguf_file else ckpt.path
    try:
        tokenizer = AutoTokenizer.from_pretrained(tok_source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(ckpt.path, dtype=torch_dtype, **kwargs)
    except ProbecastError:
        raise
    except (OSError, ValueError, json.JSONDecodeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProbecastError(f"{ckpt.path}: cannot load checkpoint ({first[:300]}); check that the folder is a "
                             f"complete Hugging Face checkpoint") from None
    except Exception as exc:  # safetensors' own errors (corrupt header) are not OSErrors
        if type(exc).__module__.startswith("safetensors") or "safetensor" in type(exc).__name__.lower():
            raise ProbecastError(f"{ckpt.path}: corrupt weights file ({exc}); re-save the checkpoint") from None
        raise
    n_vocab = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > n_vocab:
        raise ProbecastError(f"{ckpt.path}: tokenizer has {len(tokenizer)} tokens but the model's embedding has "
                             f"{n_vocab} rows; the tokenizer does not belong to this model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    tokenizer.padding_side = "left"
    model.to(device).eval()
    return model, tokenizer


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _tokenizer_source(path: Path) -> str:
    """The checkpoint folder, or its run folder when only the run saved the tokenizer (HF Trainer runs often
    save it once in the output folder, not in every checkpoint-N)."""
    if any((path / f).exists() for f in _TOKENIZER_FILES):
        return str(path)
    if any((path.parent / f).exists() for f in _TOKENIZER_FILES):
        return str(path.parent)
    raise ProbecastError(f"{path}: no tokenizer files ({', '.join(_TOKENIZER_FILES)}) in the checkpoint or its "
                         f"parent folder; save the tokenizer with the checkpoint (tokenizer.save_pretrained)")


def fingerprint(model, tokenizer) -> str:
    """Short hash of model config + tokenizer vocabulary: features from different models never mix."""
    cfg = model.config.to_json_string(use_diff=False)
    vocab = json.dumps(sorted(tokenizer.get_vocab().items())[:5000])
    return hashlib.sha1((cfg + vocab).encode()).hexdigest()[:12]


def free_model(model) -> None:
    del model
    gc.collect()
