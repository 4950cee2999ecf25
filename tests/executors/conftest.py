"""Fixtures for the executor tests: the embedded run with 4 checkpoints, and (for the Ray tests) a real two-node
Ray cluster on 127.0.0.1 shared by the module, always stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def run4(tmp_path_factory) -> Path:
    """An `xs` model trained for 24 steps with 4 checkpoints."""
    from probecast.toy.train import ToyConfig, train_toy

    out = tmp_path_factory.mktemp("run4")
    train_toy(out, ToyConfig(size="xs", steps=24, n_checkpoints=4, warmup=4, batch_size=8, seq_len=64),
              progress=False)
    return out
