"""Fixtures for the monitor tests: one real workspace (labels, features, a fitted ridge probe) per session,
copied per test so watchers and callbacks never see each other's logs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from monitor_workspace import build_workspace  # noqa: E402


@pytest.fixture(scope="session")
def monitor_ws_template(tiny_run, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("monitor_ws") / "ws"
    build_workspace(root, tiny_run, probe="ridge")
    return root


@pytest.fixture
def monitor_ws(monitor_ws_template, tmp_path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(monitor_ws_template, dst)
    return dst
