"""`--ray ADDRESS` and the per-unit resource request, shared by every command that fans out units.

ADDRESS is what `ray.init(address=...)` takes: `auto` (the cluster this machine belongs to) or `HOST:PORT`
(the head's GCS port, 6379 unless `ray start --head --port` said otherwise), or `local` to start a private Ray
on this machine for the run. Each unit asks for `cpus` CPUs (its torch thread count) and `gpus` GPUs (default:
1 when the cluster has GPUs, else 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import typer

from probecast.errors import ProbecastError


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: no Ray (this process)
    cpus: float = 1.0
    gpus: float | None = None  # None: 1 if the cluster has a GPU, else 0
    max_retries: int = 3  # re-runs of a unit whose worker or node died

    def __post_init__(self) -> None:
        if self.address is not None and not self.address.strip():
            raise ProbecastError("--ray: give `local`, `auto` or HOST:PORT of the Ray head")
        if self.cpus <= 0:
            raise ProbecastError(f"--ray-cpus {self.cpus}: must be > 0 (CPUs each unit reserves)")
        if self.gpus is not None and self.gpus < 0:
            raise ProbecastError(f"--ray-gpus {self.gpus}: must be >= 0")
        if self.max_retries < 0:
            raise ProbecastError(f"--ray-retries {self.max_retries}: must be >= 0")


def describe_error(exc: BaseException) -> str:
    """One line for a failed unit: the user's message for a ProbecastError, else the type and message."""
    cause = getattr(exc, "cause", None)  # a Ray task error wraps what the unit raised
    if isinstance(cause, BaseException):
        exc = cause
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(exc, ProbecastError) else f"{type(exc).__name__}: {first}"


# The options, defined once and used by label, extract, watch and latency.
RAY = typer.Option(None, "--ray", metavar="ADDRESS", help="Run the units on Ray: `local` (start one here), `auto` "
                   "or HOST:PORT (an existing cluster, as ray.init(address=...)). Needs `pip install probecast\\[ray]`.")
RAY_CPUS = typer.Option(1.0, "--ray-cpus", help="With --ray: CPUs each unit reserves (= its torch threads).")
RAY_GPUS = typer.Option(None, "--ray-gpus", help="With --ray: GPUs each unit reserves (default: 1 when the "
                        "cluster has GPUs, else 0).")
RAY_RETRIES = typer.Option(3, "--ray-retries", help="With --ray: re-runs of a unit whose worker or node died.")


def ray_options(address: str | None, cpus: float = 1.0, gpus: float | None = None, retries: int = 3) -> RayOptions | None:
    return None if address is None else RayOptions(address=address, cpus=cpus, gpus=gpus, max_retries=retries)
