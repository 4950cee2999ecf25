"""Fixtures for the executor tests: the embedded run with 4 checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def run4(tmp_path_factory) -> Path:
    """The embedded run as `tiny_run` trains it, with 4 checkpoints."""
    from embedded_run import train_tiny

    return train_tiny(tmp_path_factory.mktemp("run4"), n_checkpoints=4)
