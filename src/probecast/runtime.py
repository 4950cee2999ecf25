"""Process-wide runtime settings for CPU inference.

On small models, OpenMP threads spinning against other busy processes cost far more than they give
(measured here: 16× slower generation on a shared 2-core machine), so the thread count is set once, from
`--threads` or `$PROBECAST_THREADS`, defaulting to all cores.

Even then, with every core in use and another process busy on one of them, a torch thread that finishes its
share of an operation spins waiting for a peer that is not running: the bare prefill of the real demo's
latency set took 10–76 s per repeat instead of 5 s beside one other busy process (2 threads; 1 thread:
9–13 s). The `probecast` command therefore asks OpenMP to sleep instead of spin (`OMP_WAIT_POLICY=PASSIVE`,
10–14 s there) unless the user set the policy; it must be set before torch is first imported, so the CLI
does it on start (`passive_openmp`). The library never sets it: a training loop that imports probecast keeps
its own OpenMP behaviour.
"""

from __future__ import annotations

import os


def passive_openmp() -> None:
    """OpenMP threads sleep rather than spin while they wait (`OMP_WAIT_POLICY=PASSIVE`), unless set already."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configure_threads(threads: int | None = None) -> int:
    import torch

    n = threads or int(os.environ.get("PROBECAST_THREADS", "0") or 0) or (os.cpu_count() or 1)
    torch.set_num_threads(n)
    return n


def device() -> str:
    """Where models are loaded: `$PROBECAST_DEVICE` (set to `cuda` on a Ray worker that was given a GPU), else CPU."""
    return os.environ.get("PROBECAST_DEVICE") or "cpu"
