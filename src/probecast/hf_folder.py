"""Writing a Hugging Face checkpoint folder: model and tokenizer into a temporary folder that the caller renames.

A full disk or an unwritable folder stops the command with one line naming the folder (the CLI prints it, exit 2),
not a traceback from safetensors, and the partial folder is removed so it does not hold the space it took.

A fine-tuning run that trains only some tensors (top-K blocks, LoRA adapters merged into their linear layers) saves
every checkpoint as two shards with the standard `model.safetensors.index.json`, which transformers and vLLM load
like any sharded checkpoint: `model-trained.safetensors` (the tensors the run changes) and
`model-frozen-<sha256[:16]>.safetensors` (the rest, named by its content). When an earlier checkpoint of the same run
holds a frozen shard with the same content, the new one is a hard link to it, so nine checkpoints of a top-8 run
hold the frozen 75 % of the weights once. A hard link is an ordinary file: deleting or copying one checkpoint folder
leaves the others whole. Where hard links are not possible (another file system) the shard is kept as a copy.
The first such checkpoint of a run is saved whole and then split; the later ones follow its index and write only
the trained shard (and a frozen one whose content is new), so a checkpoint costs the writing of what it changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from probecast.errors import ProbecastError

INDEX = "model.safetensors.index.json"
TRAINED = "model-trained.safetensors"


def write_hf_folder(model, tokenizer, tmp: Path, final: Path, changing: set[str] | None = None) -> None:
    """save_pretrained `model` and `tokenizer` into a fresh `tmp` (meant to become `final`). With `changing` (the
    state-dict names the run trains), the weights are split as the module docstring says, linking the frozen shard to
    an identical one in a sibling checkpoint folder of `final`."""
    from safetensors import SafetensorError

    shutil.rmtree(tmp, ignore_errors=True)
    try:
        state = None if changing is None else model.state_dict()  # only a split reads the tensors
        names = None if changing is None else _earlier_split(final.parent, changing, state)
        if names is not None:
            _save_split(model, tokenizer, tmp, names, changing, final.parent, state)
        else:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            if changing is not None:
                split_frozen(tmp, changing, final.parent, state)
    except (OSError, SafetensorError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ProbecastError(f"{final}: could not write the checkpoint ({exc}); free disk space there or give "
                             f"another output folder, then run the command again (finished steps are kept)") from exc


def trained_names(model) -> set[str]:
    """The state-dict names of the parameters `model` trains (requires_grad): the `changing` set of a run that freezes
    the others."""
    return {name for name, p in model.named_parameters() if p.requires_grad}


def content_digest(tensors: dict, metadata: dict) -> str:
    """sha256 over the tensors' names, dtypes, shapes and bytes (sorted by name) and the file metadata."""
    import torch

    h = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def split_frozen(folder: Path, changing: set[str], run_dir: Path, state: dict | None = None) -> None:
    """Split `folder`/model.safetensors into a trained and a frozen shard (see the module docstring); a folder whose
    weights are already sharded, or whose tensors are all trained or all frozen, is left as it is. The frozen shard
    is written only when no earlier checkpoint in `run_dir` holds one with the same content digest. Tensors are
    taken from `state` (the saved model's state dict) where it holds them with the file's shape and dtype, so a
    large model is not read back into memory beside itself; the others are read from the file."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    single = folder / "model.safetensors"
    if not single.is_file():
        return
    with safe_open(single, "pt") as f:
        meta = f.metadata() or {}
        names = list(f.keys())
        if sum(k in changing for k in names) in (0, len(names)):
            return

        def tensor(k: str):
            t, stored = (state or {}).get(k), f.get_slice(k)
            same = (t is not None and list(t.shape) == list(stored.get_shape())
                    and _torch_dtype(stored.get_dtype()) == t.dtype)
            return t.detach() if same else f.get_tensor(k)

        trained = {k: tensor(k) for k in names if k in changing}
        frozen = {k: tensor(k) for k in names if k not in changing}
    save_file(trained, folder / TRAINED, metadata=meta)
    _write_frozen(folder, trained, frozen, meta, run_dir)
    single.unlink()


def _earlier_split(run_dir: Path, changing: set[str], state: dict) -> list[str] | None:
    """The tensor names of the newest split checkpoint in `run_dir` when it splits them as `changing` would and the
    model's state dict holds every one (then a new checkpoint needs no whole save); else None."""
    for index in sorted(run_dir.glob(f"*/{INDEX}"), key=lambda p: p.stat().st_mtime, reverse=True):
        if index.parent.name.startswith("."):
            continue
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _recorded_digest(index.parent) is None or not isinstance(weight_map, dict):
            continue
        names = list(weight_map)
        same = all((weight_map[k] == TRAINED) == (k in changing) for k in names)
        return names if same and all(k in state for k in names) else None
    return None


def _save_split(model, tokenizer, tmp: Path, names: list[str], changing: set[str], run_dir: Path,
                state: dict) -> None:
    """Write a checkpoint split as an earlier one of the run is (`names`, from its index): save_pretrained with only
    the trained tensors of `state` (config, generation config, tokenizer as always), renamed to the trained shard,
    then the frozen shard linked or written by `_write_frozen`."""
    from safetensors import safe_open

    trained = {k: state[k].detach() for k in names if k in changing}
    frozen = {k: state[k].detach() for k in names if k not in changing}
    model.save_pretrained(tmp, state_dict=trained)
    tokenizer.save_pretrained(tmp)
    single = tmp / "model.safetensors"
    with safe_open(single, "pt") as f:
        meta = f.metadata() or {}
    single.rename(tmp / TRAINED)
    _write_frozen(tmp, trained, frozen, meta, run_dir)


def _write_frozen(folder: Path, trained: dict, frozen: dict, meta: dict, run_dir: Path) -> None:
    """The frozen shard (a hard link to an earlier checkpoint's with the same content digest, else written) and the
    index mapping every tensor to its shard; the trained shard is already in `folder`."""
    from safetensors.torch import save_file

    digest = content_digest(frozen, meta)
    shard = folder / f"model-frozen-{digest[:16]}.safetensors"
    twins = [p for p in sorted(run_dir.glob(f"*/{shard.name}"))
             if not p.parent.name.startswith(".") and _recorded_digest(p.parent) == digest]
    try:
        os.link(twins[0], shard)
    except (IndexError, OSError):  # the first such checkpoint, or no hard links here: write it
        save_file(frozen, shard, metadata=meta)
    size = sum(t.numel() * t.element_size() for part in (trained, frozen) for t in part.values())
    index = {"metadata": {"total_size": size, "frozen_sha256": digest},
             "weight_map": {k: (TRAINED if k in trained else shard.name) for k in sorted([*trained, *frozen])}}
    (folder / INDEX).write_text(json.dumps(index, indent=2) + "\n")


def _torch_dtype(name: str):
    """The torch dtype of a safetensors dtype name (None: one this module does not map; read from the file)."""
    import torch

    return {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
            "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
            "BOOL": torch.bool}.get(name)


def _recorded_digest(folder: Path) -> str | None:
    try:
        return json.loads((folder / INDEX).read_text())["metadata"]["frozen_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
