"""The schedules shared by probecast's two training loops (embedded run, fine-tuning): the learning rate and
the steps at which checkpoints are saved."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

# How the saved checkpoints spread over a run: evenly, or `checkpoint_steps` ("early"). Here, not beside the
# fine-tuning loop that reads it, so the CLI lists the choices without importing torch.
SPACINGS = ("even", "early")


class Schedule(Protocol):
    """What a training config needs for the schedule (ToyConfig, FinetuneConfig)."""

    steps: int
    lr: float
    warmup: int
    min_lr_ratio: float


def warmup_cosine(step: int, *, steps: int, lr: float, warmup: int, min_lr_ratio: float) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay from `lr` to `min_lr_ratio · lr` at `steps`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(steps - warmup, 1)
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def lr_at(step: int, cfg: Schedule) -> float:
    """`warmup_cosine` with a training config's settings (0-based step)."""
    return warmup_cosine(step, steps=cfg.steps, lr=cfg.lr, warmup=cfg.warmup, min_lr_ratio=cfg.min_lr_ratio)


def checkpoint_steps(total: int, n: int) -> list[int]:
    """Log-spaced over the first third of the run, evenly spaced after it, always ending at `total`."""
    n_early = max(2, n // 2)
    n_late = max(1, n - n_early)
    third = max(total // 3, 2)
    start = max(total // 40, 1)
    early = np.geomspace(start, third, n_early)
    late = np.linspace(third, total, n_late + 1)[1:]
    steps = sorted({int(round(s)) for s in np.concatenate([early, late])})
    steps[-1] = total
    return steps
