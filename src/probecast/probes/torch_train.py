"""The one training loop shared by the neural probes (MLP, attention pooling).

Soft-target BCE on pass@1, AdamW, minibatches, early stopping on an internal validation split *by question*
(a question's rows across checkpoints are all train or all validation), best-epoch weights restored. Fixed
seeds and a bounded thread count keep runs reproducible and polite on a shared CPU.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from probecast.probes.inputs import group_holdout


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Temporarily cap torch's intra-op threads (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class TrainConfig:
    lr: float = 2e-3
    weight_decay: float = 1e-2
    batch_size: int = 256
    max_epochs: int = 150
    patience: int = 12
    val_fraction: float = 0.15
    threads: int = 1  # the CPU is shared: more threads oversubscribe and slow down


def train_soft_bce(net: torch.nn.Module, inputs: list[np.ndarray], y: np.ndarray, groups: np.ndarray,
                   cfg: TrainConfig, seed: int) -> dict:
    """Train `net(*batch) -> logits [b]` in place; returns {"epochs", "best_val_bce"}."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tr, va = group_holdout(groups, cfg.val_fraction, seed)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
    target = torch.from_numpy(y.astype(np.float32))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    best, best_state, since, epoch = float("inf"), copy.deepcopy(net.state_dict()), 0, 0
    with torch_threads(cfg.threads):
        for epoch in range(1, cfg.max_epochs + 1):
            net.train()
            order = rng.permutation(tr)
            for start in range(0, len(order), cfg.batch_size):
                idx = torch.from_numpy(order[start:start + cfg.batch_size])
                logits = net(*[t[idx] for t in tensors])
                loss = F.binary_cross_entropy_with_logits(logits, target[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if len(va) == 0:
                continue
            val = evaluate_bce(net, [t[torch.from_numpy(va)] for t in tensors], target[torch.from_numpy(va)])
            if val < best - 1e-5:
                best, best_state, since = val, copy.deepcopy(net.state_dict()), 0
            else:
                since += 1
                if since >= cfg.patience:
                    break
        if len(va):
            net.load_state_dict(best_state)
    net.eval()
    return {"epochs": epoch, "best_val_bce": best if len(va) else None}


@torch.no_grad()
def evaluate_bce(net: torch.nn.Module, tensors: list[torch.Tensor], target: torch.Tensor) -> float:
    net.eval()
    return float(F.binary_cross_entropy_with_logits(net(*tensors), target))


@torch.no_grad()
def predict_logits(net: torch.nn.Module, inputs: list[np.ndarray], threads: int, batch: int = 2048) -> np.ndarray:
    net.eval()
    out = []
    with torch_threads(threads):
        for start in range(0, len(inputs[0]), batch):
            out.append(net(*[torch.from_numpy(np.ascontiguousarray(a[start:start + batch])) for a in inputs]))
    return torch.cat(out).double().numpy()


def state_to_numpy(net: torch.nn.Module, prefix: str = "net.") -> dict[str, np.ndarray]:
    return {prefix + k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}


def load_numpy_state(net: torch.nn.Module, arrays: dict[str, np.ndarray], prefix: str = "net.") -> None:
    state = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(prefix)}
    net.load_state_dict(state)
    net.eval()
