"""Disk and time of saving fine-tuning checkpoints whole or with their frozen tensors shared (`hf_folder`).

A fine-tuning run that trains the top K blocks (or LoRA adapters merged into some linear layers) leaves most
tensors as they were. Each checkpoint is saved both ways, `--checkpoints` per run as a run saves them (the trained
tensors nudged between saves), interleaved over `--repeats` rounds: `whole` (one model.safetensors per checkpoint)
and `shared` (a trained shard per checkpoint, the frozen shard hard-linked to the first one's). Printed: the
seconds per saved checkpoint (fastest round) and the run folder's bytes on disk, each file counted once per inode
(what `du` counts).

    python benchmarks/checkpoint_sharing.py                    # ~1 min: SmolLM2, top 8 blocks, 9 checkpoints
    python benchmarks/checkpoint_sharing.py --train-layers 30  # every block: little is frozen
    python benchmarks/checkpoint_sharing.py --trainer          # a HF Trainer run, with ShareFrozenCallback or not

`--trainer` runs a Hugging Face Trainer (one step between saves, AdamW, so each checkpoint also holds the optimizer
state of the trained parameters) with and without `checkpoints.share.ShareFrozenCallback`; the seconds are the whole
run's per checkpoint (the training steps are the same work in both).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def disk_bytes(folder: Path) -> int:
    """Bytes of the files under `folder`, a hard-linked file once."""
    seen: dict[tuple[int, int], int] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def save_run(model, tokenizer, params: list, changing: set[str] | None, n: int, out: Path) -> float:
    """Save `n` checkpoints into `out` (the trained `params` nudged before each); seconds per checkpoint."""
    import torch

    from probecast.toy.train import save_checkpoint

    start = time.perf_counter()
    for step in range(n):
        with torch.no_grad():
            for p in params:
                p.add_(1e-3)
        save_checkpoint(model, tokenizer, out, {"step": step}, changing)
    return (time.perf_counter() - start) / n


def trainer_run(source: str, train_layers: int, n: int, out: Path, share: bool) -> float:
    """A Trainer run of `n` steps saving after each, its frozen tensors shared or not; seconds per checkpoint."""
    import torch
    from transformers import Trainer, TrainingArguments

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.checkpoints.share import ShareFrozenCallback
    from probecast.finetune.train import trainable_parameters

    model, _ = load_model(discover_checkpoints(source)[0], dtype="float32")
    trainable_parameters(model, train_layers)
    rows = [{"input_ids": torch.arange(i, i + 32), "labels": torch.arange(i, i + 32)} for i in range(2 * n)]
    args = TrainingArguments(output_dir=str(out), max_steps=n, save_steps=1, per_device_train_batch_size=2,
                             report_to=[], use_cpu=True, logging_strategy="no", disable_tqdm=True, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=rows, callbacks=[ShareFrozenCallback()] if share else [])
    start = time.perf_counter()
    trainer.train()
    return (time.perf_counter() - start) / n


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="smollm2", help="checkpoint folder or packaged model name")
    ap.add_argument("--train-layers", type=int, default=8, help="top blocks trained (the real demo's 8)")
    ap.add_argument("--checkpoints", type=int, default=9, help="checkpoints per run (the real demo's 9)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--trainer", action="store_true", help="a HF Trainer run with ShareFrozenCallback or without")
    a = ap.parse_args(argv)
    if a.checkpoints < 2:
        ap.error("--checkpoints must be >= 2 (sharing starts at the second)")

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.finetune.train import trainable_parameters
    from probecast.hf_folder import trained_names
    from probecast.models.fetch import MODELS, fetch_model

    source = str(fetch_model(a.source)) if a.source in MODELS else a.source
    model, tokenizer = load_model(discover_checkpoints(source)[0], dtype="float32")
    params = trainable_parameters(model, a.train_layers)
    changing = trained_names(model)
    ways = {"whole": None, "shared": changing}
    seconds: dict[str, list[float]] = {w: [] for w in ways}
    disk: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            for way, names in ways.items():
                out = Path(tmp) / f"{way}-{r}"
                seconds[way].append(trainer_run(source, a.train_layers, a.checkpoints, out, way == "shared")
                                    if a.trainer else save_run(model, tokenizer, params, names, a.checkpoints, out))
                disk[way] = disk_bytes(out)
                print(f"round {r}: {way} {seconds[way][-1]:.2f} s/checkpoint, {disk[way] / 1e6:.0f} MB", flush=True)
    for way in ways:
        print(f"{way:6s} {min(seconds[way]):.2f} s per checkpoint (fastest of {a.repeats}), "
              f"{disk[way] / 1e6:.0f} MB for {a.checkpoints} checkpoints ({disk[way] / disk['whole']:.2f}x whole)")
    return {"seconds_per_checkpoint": seconds, "disk_bytes": disk}


if __name__ == "__main__":
    main()
