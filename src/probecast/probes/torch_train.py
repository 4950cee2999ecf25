"""The one training loop shared by the neural probes (MLP, attention pooling).

Soft-target BCE on pass@1, AdamW, minibatches, early stopping on an internal validation split *by question*
(a question's rows across checkpoints are all train or all validation), best-epoch weights restored. Fixed
seeds and a bounded thread count keep runs reproducible and polite on a shared CPU.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from probecast.evaluation.metrics import strata_auroc
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
    val_mode: str = "question"  # or "checkpoint": early stopping for transfer to the last training checkpoint
    threads: int = 1  # the CPU is shared: more threads oversubscribe and slow down


def train_soft_bce(make_net: Callable[[], torch.nn.Module], inputs: list[np.ndarray], y: np.ndarray,
                   groups: np.ndarray, cfg: TrainConfig, seed: int,
                   steps: np.ndarray | None = None,
                   tasks: np.ndarray | None = None) -> tuple[torch.nn.Module, dict]:
    """Train `make_net()(*batch) -> logits [b]`; returns (trained net, {"epochs", "best_val_bce", "val"}).

    `val_mode="checkpoint"` (with `steps` spanning >= 2 checkpoints): early-stop a first run trained on the
    earlier checkpoints (minus the validation questions) against the validation questions at the *last*
    training checkpoint (the number of epochs that transfers to a checkpoint the net never saw), scored by
    the mean within-task AUROC (`tasks`; a BCE there would mostly measure the base-rate shift between
    checkpoints), then train a fresh net on every row for that many epochs. `val_mode="question"`: one run, validation = held-out
    questions at every checkpoint, best epoch restored."""
    tr, va = group_holdout(groups, cfg.val_fraction, seed)
    make = _seeded(make_net, seed)
    if cfg.val_mode == "checkpoint" and steps is not None and len(np.unique(steps)) >= 2 and len(va):
        last = np.max(steps)
        tr1, va1 = tr[steps[tr] != last], va[steps[va] == last]
        net, info = _run(make(), inputs, y, tr1, va1, cfg, seed, cfg.max_epochs,
                         None if tasks is None else np.asarray(tasks).astype(str))
        net, _ = _run(make(), inputs, y, np.arange(len(y)), np.zeros(0, int), cfg, seed, info["best_epoch"])
        return net, {**info, "val": "checkpoint"}
    if cfg.val_mode not in ("checkpoint", "question"):
        raise ValueError(f"val_mode must be 'checkpoint' or 'question', got {cfg.val_mode!r}")
    net, info = _run(make(), inputs, y, tr, va, cfg, seed, cfg.max_epochs)
    return net, {**info, "val": "question"}


def _seeded(make_net: Callable[[], torch.nn.Module], seed: int) -> Callable[[], torch.nn.Module]:
    """`make_net` with the torch RNG seeded first, so the initial weights (not only the training order) are
    the same on every run: two fits with the same seed give the same probe."""
    def make() -> torch.nn.Module:
        torch.manual_seed(seed)
        return make_net()
    return make


def _run(net: torch.nn.Module, inputs: list[np.ndarray], y: np.ndarray, tr: np.ndarray, va: np.ndarray,
         cfg: TrainConfig, seed: int, max_epochs: int,
         strata: np.ndarray | None = None) -> tuple[torch.nn.Module, dict]:
    """AdamW on soft BCE over rows `tr`; early stopping on rows `va` (best epoch restored) when non-empty,
    by minus the mean within-stratum AUROC when `strata` is given and defined, else by BCE."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
    target = torch.from_numpy(y.astype(np.float32))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    best, best_state, best_epoch, since, epoch = float("inf"), copy.deepcopy(net.state_dict()), max_epochs, 0, 0
    with torch_threads(cfg.threads):
        for epoch in range(1, max_epochs + 1):
            net.train()
            order = rng.permutation(tr)
            for start in range(0, len(order), cfg.batch_size):
                idx = torch.from_numpy(order[start:start + cfg.batch_size])
                loss = F.binary_cross_entropy_with_logits(net(*[t[idx] for t in tensors]), target[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if len(va) == 0:
                continue
            val = _val_score(net, [t[torch.from_numpy(va)] for t in tensors], y[va],
                             None if strata is None else strata[va])
            if val < best - 1e-5:
                best, best_state, best_epoch, since = val, copy.deepcopy(net.state_dict()), epoch, 0
            else:
                since += 1
                if since >= cfg.patience:
                    break
        if len(va):
            net.load_state_dict(best_state)
    net.eval()
    return net, {"epochs": epoch, "best_epoch": best_epoch, "best_val_bce": best if len(va) else None}


@torch.no_grad()
def _val_score(net: torch.nn.Module, tensors: list[torch.Tensor], y: np.ndarray, strata: np.ndarray | None) -> float:
    net.eval()
    logits = net(*tensors)
    if strata is not None:
        auc = float(strata_auroc(logits.double().numpy()[:, None], y, strata)[0])
        if np.isfinite(auc):
            return -auc
    return float(F.binary_cross_entropy_with_logits(logits, torch.from_numpy(y.astype(np.float32))))


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
