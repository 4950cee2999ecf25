"""`probecast train-toy`: train a small Llama from scratch on the synthetic world's corpus, on the CPU.

Documents (one task example or fact each, see `tasks.synthetic.corpus_line`) are packed as
`<s> doc \\n <s> doc \\n ...` into fixed-length rows, so at evaluation `<s> prompt` looks like the start of a
document. Checkpoints are saved in HF format on a schedule that is log-spaced early and regular later, each
with a `probecast_checkpoint.json` sidecar (step, tokens, FLOPs = 6·N·tokens with N the non-embedding
parameters, and the training loss) and the run keeps `train_log.jsonl`.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from probecast.errors import ProbecastError
from probecast.hf_folder import write_hf_folder
from probecast.io import write_json_atomic, write_jsonl_atomic
from probecast.optim import checkpoint_steps, lr_at
from probecast.reuse import finished_run
from probecast.tasks.synthetic import World, corpus_line
from probecast.toy.tokenizer import build_tokenizer

SIDECAR = "probecast_checkpoint.json"

# name → (hidden, layers, heads); intermediate = 4·hidden. Non-embedding params ≈ 12·layers·hidden².
SIZES: dict[str, tuple[int, int, int]] = {
    "xs": (48, 2, 2),
    "s": (80, 3, 2),
    "m": (128, 4, 4),
    "l": (192, 4, 6),
    "xl": (256, 6, 8),
}

DEFAULT_TASK_WEIGHTS = {"add": 1.0, "mul": 1.0, "copy": 0.7, "reverse": 1.0, "color": 1.5, "age": 1.5,
                        "sum3": 1.5, "age_sum": 1.5}


@dataclass
class ToyConfig:
    size: str = "m"
    steps: int = 1500
    batch_size: int = 32
    seq_len: int = 128
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.05
    n_checkpoints: int = 12
    seed: int = 0
    world_seed: int = 0
    task_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TASK_WEIGHTS))

    @classmethod
    def quick(cls, size: str = "m") -> "ToyConfig":
        return cls(size=size, steps=330, n_checkpoints=7, lr=4e-3, warmup=20)


class PackedStream:
    """An endless deterministic stream of packed token rows from the synthetic corpus."""

    def __init__(self, tokenizer, world: World, weights: dict[str, float], seq_len: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.world, self.weights, self.seq_len = world, weights, seq_len
        self.vocab = tokenizer.get_vocab()
        self.bos = tokenizer.bos_token_id
        self.buffer: list[int] = []

    def _encode(self, text: str) -> list[int]:
        return [self.bos] + [self.vocab[c] for c in text] + [self.vocab["\n"]]

    def batch(self, batch_size: int) -> torch.Tensor:
        need = batch_size * self.seq_len
        while len(self.buffer) < need:
            self.buffer.extend(self._encode(corpus_line(self.rng, self.world, self.weights)))
        rows, self.buffer = self.buffer[:need], self.buffer[need:]
        return torch.tensor(rows, dtype=torch.long).view(batch_size, self.seq_len)


def build_model(size: str, vocab_size: int, seq_len: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    if size not in SIZES:
        raise ProbecastError(f"unknown --size {size!r}; choose one of {list(SIZES)}")
    hidden, layers, heads = SIZES[size]
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=4 * hidden,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max(256, 2 * seq_len), tie_word_embeddings=True,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return LlamaForCausalLM(config)


def non_embedding_params(model) -> int:
    emb = model.get_input_embeddings().weight.numel()
    return sum(p.numel() for p in model.parameters()) - emb


def save_checkpoint(model, tokenizer, out: Path, record: dict, changing: set[str] | None = None) -> Path:
    """Write an HF checkpoint folder atomically (temp folder, then rename), sidecar last. `changing`: the state-dict
    names a fine-tuning run trains; the others are shared with the run's earlier checkpoints (`hf_folder`)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    final = out / f"step-{record['step']}"
    tmp = out / f".tmp-step-{record['step']}"
    write_hf_folder(model, tokenizer, tmp, final, changing)
    write_json_atomic(tmp / SIDECAR, record)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def train_toy(out: str | Path, cfg: ToyConfig, progress: bool = True) -> list[dict]:
    """Train and save checkpoints into `out`; returns the checkpoint records. Resumes are not needed: a
    finished run (run.json with `finished`) is reused as is when it was made with `cfg` (`probecast.reuse`)."""
    out = Path(out)
    run_file = out / "run.json"
    done = finished_run(out, cfg, {"size": "--size", "steps": "--steps", "seed": "--seed"})
    if done is not None:
        return done
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    tokenizer = build_tokenizer()
    model = build_model(cfg.size, len(tokenizer), cfg.seq_len)
    n_params = non_embedding_params(model)
    world = World(seed=cfg.world_seed)
    stream = PackedStream(tokenizer, world, cfg.task_weights, cfg.seq_len, cfg.seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.98))
    save_at = set(checkpoint_steps(cfg.steps, cfg.n_checkpoints))
    tokens_per_step = cfg.batch_size * cfg.seq_len
    records, log_rows, t0 = [], [], time.time()
    ema = None
    from probecast.ui import steps

    with steps(f"train-toy [{cfg.size}]", cfg.steps, show=progress) as bar:
        model.train()
        for step in range(1, cfg.steps + 1):
            for g in opt.param_groups:
                g["lr"] = lr_at(step - 1, cfg)
            x = stream.batch(cfg.batch_size)
            loss = model(input_ids=x, labels=x).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            value = float(loss.detach())
            ema = value if ema is None else 0.9 * ema + 0.1 * value
            log_rows.append({"step": step, "loss": value, "tokens": step * tokens_per_step,
                             "lr": opt.param_groups[0]["lr"], "elapsed_s": round(time.time() - t0, 3)})
            bar.advance(what=f"loss {ema:.3f}")
            if step in save_at:
                model.eval()
                tokens = step * tokens_per_step
                record = {"step": step, "tokens": tokens, "flops": 6.0 * n_params * tokens, "params": n_params,
                          "train_loss": ema, "size": cfg.size}
                path = save_checkpoint(model, tokenizer, out, record)
                records.append({**record, "id": path.name, "path": str(path)})
                write_jsonl_atomic(out / "train_log.jsonl", log_rows)
                model.train()
    write_jsonl_atomic(out / "train_log.jsonl", log_rows)
    write_json_atomic(run_file, {"config": asdict(cfg), "params": n_params, "tokens_per_step": tokens_per_step,
                                 "train_seconds": round(time.time() - t0, 2), "checkpoints": records,
                                 "finished": True})
    return records
