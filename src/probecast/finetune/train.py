"""`probecast finetune`: supervised fine-tuning of a real checkpoint on the CPU, saving HF checkpoints.

The post-training setting of arXiv 2604.01025 (its Instruct/Think checkpoints): a pretrained model is tuned on
a task's training split and probes must follow how its per-question success moves from checkpoint to
checkpoint. Loss is next-token cross-entropy on the completion tokens only (the prompt is masked), AdamW with
linear warm-up and cosine decay, gradient clipping at 1.0.

`train_layers=k` trains only the top k transformer blocks and the final norm (embeddings and the tied LM head
frozen): the backward pass then stops k blocks below the top, which is what makes a few hundred steps of a
135M model affordable on two shared CPU cores; `train_layers=None` is full fine-tuning. `lora_rank=R` trains
rank-R LoRA adapters on every linear layer of the same blocks instead (`finetune/lora.py`, peft); its checkpoints
are saved with the adapters merged in, as plain models.

Checkpoints are `step-N` folders (step-0 = the starting model) with the `probecast_checkpoint.json` sidecar:
step, tokens (supervised + prompt tokens seen), FLOPs = 6·N·tokens (N non-embedding parameters, the usual
training-compute convention), params, train_loss, and `run.json` records the whole run (reused when finished).
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from probecast.errors import ProbecastError
from probecast.finetune.blocks import top_blocks
from probecast.finetune.data import encode_pairs, training_pairs
from probecast.hf_folder import trained_names
from probecast.io import write_json_atomic, write_jsonl_atomic
from probecast.optim import SPACINGS, checkpoint_steps, lr_at
from probecast.reuse import finished_run


@dataclass
class FinetuneConfig:
    task: str = "gsm8k"  # training data: `gsm8k` (train split) or a JSONL file
    steps: int = 60
    batch_size: int = 4
    max_len: int = 256
    lr: float = 1e-4
    warmup: int = 5
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    train_layers: int | None = 8  # top-k blocks trained; None = full fine-tuning
    n_checkpoints: int = 4  # saved over the run, plus step-0
    spacing: str = "even"  # "even"; "early": log-spaced over the first third, even after (`optim.checkpoint_steps`)
    save_base: bool = True
    max_examples: int | None = None
    seed: int = 0
    lora_rank: int | None = None  # LoRA adapters of this rank on the blocks' linear layers instead of their weights
    lora_alpha: float | None = None  # LoRA scale alpha (alpha / rank multiplies the adapter); None = 2 x rank

    def save_steps(self) -> list[int]:
        if self.spacing not in SPACINGS:
            raise ProbecastError(f"--spacing {self.spacing!r}: choose one of {', '.join(SPACINGS)}")
        if self.spacing == "early":
            steps = checkpoint_steps(self.steps, self.n_checkpoints)
        else:
            steps = sorted({int(round(s)) for s in np.linspace(0, self.steps, self.n_checkpoints + 1)[1:]})
        return ([0] if self.save_base else []) + [s for s in steps if s > 0]


# the option that gives each setting (`probecast finetune`), for the message refusing a run made with other ones
OPTIONS = {"task": "--task", "steps": "--steps", "batch_size": "--batch-size", "max_len": "--max-len", "lr": "--lr",
           "warmup": "--warmup", "train_layers": "--train-layers/--full", "n_checkpoints": "--checkpoints",
           "spacing": "--spacing", "max_examples": "--max-examples", "seed": "--seed", "lora_rank": "--lora",
           "lora_alpha": "--lora-alpha", "base": "SOURCE"}


def trainable_parameters(model, train_layers: int | None) -> list[torch.nn.Parameter]:
    """Unfreeze everything (None) or only the top `train_layers` blocks + the final norm."""
    if train_layers is None:
        for p in model.parameters():
            p.requires_grad_(True)
        return list(model.parameters())
    from probecast.features.extract import base_model

    blocks = top_blocks(model, train_layers, "no `layers` list to pick the top blocks from; use --full")
    for p in model.parameters():
        p.requires_grad_(False)
    keep = blocks + [getattr(base_model(model), "norm", torch.nn.Identity())]
    params = [p for m in keep for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def collate(batch: list[tuple[list[int], int]], pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for i, (seq, plen) in enumerate(batch):
        ids[i, :len(seq)] = torch.tensor(seq)
        mask[i, :len(seq)] = 1
        labels[i, plen:len(seq)] = torch.tensor(seq[plen:])
    return ids, mask, labels


def finetune(source: str | Path, out: str | Path, cfg: FinetuneConfig, progress: bool = True) -> list[dict]:
    """Fine-tune the checkpoint at `source` and save step-N checkpoints into `out`; returns their records."""
    from probecast.ui import steps

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.toy.train import non_embedding_params, save_checkpoint

    out = Path(out)
    run_file = out / "run.json"
    found = discover_checkpoints(source)
    if len(found) != 1:
        raise ProbecastError(f"{source}: fine-tuning needs one checkpoint, found {len(found)}; give its folder")
    done = finished_run(out, cfg, OPTIONS, extra={"base": str(found[0].path)})
    if done is not None:
        return done
    torch.manual_seed(cfg.seed)
    model, tokenizer = load_model(found[0], dtype="float32")
    tokenizer.padding_side = "right"
    examples = encode_pairs(tokenizer, training_pairs(cfg.task, cfg.max_examples, cfg.seed), cfg.max_len)
    if not examples:
        raise ProbecastError(f"{cfg.task}: every example is longer than --max-len {cfg.max_len} in its prompt alone")
    n_params = non_embedding_params(model)
    plain = None
    if cfg.lora_rank is not None:
        from probecast.finetune.lora import block_linear_names, merged_into, wrap_lora

        changing = {f"{name}.weight" for name in block_linear_names(model, cfg.train_layers)}
        model, plain = wrap_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.train_layers, cfg.seed)
        params = [p for p in model.parameters() if p.requires_grad]
    else:
        params = trainable_parameters(model, cfg.train_layers)
        changing = trained_names(model)
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    save_at = cfg.save_steps()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rng = random.Random(cfg.seed)
    order: list[int] = []
    tokens, ema, records, log_rows, t0 = 0, None, [], [], time.time()
    meta = {"base": str(found[0].path), "task": cfg.task, "train_layers": cfg.train_layers,
            "lora_rank": cfg.lora_rank, "trainable_params": sum(p.numel() for p in params)}

    def save(step: int) -> None:
        model.eval()
        record = {"step": step, "tokens": tokens, "flops": 6.0 * n_params * tokens, "params": n_params,
                  "train_loss": ema, **meta}
        path = save_checkpoint(model if plain is None else merged_into(model, plain), tokenizer, out, record, changing)
        records.append({**record, "id": path.name, "path": str(path)})
        write_jsonl_atomic(out / "train_log.jsonl", log_rows)
        model.train()

    out.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():  # the starting model's loss on a fixed batch: step-0's training loss
        ids, mask, labels = collate(examples[:cfg.batch_size], pad)
        ema = float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)
    if 0 in save_at:
        save(0)
    model.train()
    with steps("finetune", cfg.steps, show=progress) as bar:
        for step in range(1, cfg.steps + 1):
            if len(order) < cfg.batch_size:
                fresh = list(range(len(examples)))
                rng.shuffle(fresh)
                order += fresh
            batch = [examples[i] for i in order[:cfg.batch_size]]
            order = order[cfg.batch_size:]
            for g in opt.param_groups:
                g["lr"] = lr_at(step - 1, cfg)
            ids, mask, labels = collate(batch, pad)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            tokens += int(mask.sum())
            value = float(loss.detach())
            ema = value if ema is None else 0.8 * ema + 0.2 * value
            log_rows.append({"step": step, "loss": value, "tokens": tokens, "lr": opt.param_groups[0]["lr"],
                             "elapsed_s": round(time.time() - t0, 4)})
            bar.advance(what=f"loss {ema:.3f}")
            if step in save_at:
                save(step)
    write_jsonl_atomic(out / "train_log.jsonl", log_rows)
    write_json_atomic(run_file, {"config": asdict(cfg), **meta, "params": n_params,
                                 "train_seconds": round(time.time() - t0, 2), "checkpoints": records,
                                 "finished": True})
    return records
