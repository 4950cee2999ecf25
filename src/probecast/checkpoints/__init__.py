"""Checkpoint discovery and loading."""

from probecast.checkpoints.discover import Checkpoint, discover_checkpoints

__all__ = ["Checkpoint", "discover_checkpoints"]
