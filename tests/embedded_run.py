"""Test helper: the tiny embedded run the fixtures share (seconds on the CPU)."""

from __future__ import annotations

from pathlib import Path


def train_tiny(out: Path, n_checkpoints: int) -> Path:
    """An `xs` model trained for 24 steps into `out`, saving `n_checkpoints` checkpoints."""
    from probecast.toy.train import ToyConfig, train_toy

    train_toy(out, ToyConfig(size="xs", steps=24, n_checkpoints=n_checkpoints, warmup=4, batch_size=8, seq_len=64),
              progress=False)
    return out

