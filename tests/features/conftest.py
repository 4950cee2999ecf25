"""Fixtures of the feature tests."""

import pytest


@pytest.fixture(scope="module")
def tiny_model(tiny_run):
    """The tiny run's last checkpoint: (model, tokenizer)."""
    from probecast.checkpoints import discover_checkpoints
    from probecast.checkpoints.load import load_model

    return load_model(discover_checkpoints(tiny_run)[-1])
