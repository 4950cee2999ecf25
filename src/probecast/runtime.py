"""Process-wide runtime settings for CPU inference.

On small models, OpenMP threads spinning against other busy processes cost far more than they give
(measured here: 16× slower generation on a shared 2-core machine), so the thread count is set once, from
`--threads` or `$PROBECAST_THREADS`, defaulting to all cores.
"""

from __future__ import annotations

import os


def configure_threads(threads: int | None = None) -> int:
    import torch

    n = threads or int(os.environ.get("PROBECAST_THREADS", "0") or 0) or (os.cpu_count() or 1)
    torch.set_num_threads(n)
    return n


def device() -> str:
    """Where models are loaded: `$PROBECAST_DEVICE` (set to `cuda` on a Ray worker that was given a GPU), else CPU."""
    return os.environ.get("PROBECAST_DEVICE") or "cpu"
