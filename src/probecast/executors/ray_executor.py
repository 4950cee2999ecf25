"""The Ray executor: each unit is one Ray task with a resource request, retried when its worker or node dies.

- `ray.init(address=...)`: `local` starts a private Ray here (stopped on `close`); `auto` / HOST:PORT joins a
  running cluster (`ray start --head` + `ray start --address` on the workers; same Python environment with
  probecast installed on every node, and the checkpoints at the same path on every node).
- Resource request per unit: `num_cpus` (also the worker's torch threads) and `num_gpus` (default 1 when the
  cluster reports GPUs). `max_retries` re-runs a unit whose worker process or node died; an exception raised by
  the unit itself is not retried but returned as the unit's error (the caller reports it, the others go on).
- Results come back to the caller (the driver), which is the only writer of the workspace. `wait` fetches
  each finished result at once, so nothing finished sits on a node that may die before it is written.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from probecast.errors import ProbecastError
from probecast.executors.options import RayOptions, describe_error


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise ProbecastError("--ray needs Ray: pip install 'probecast[ray]' (on the driver and every node)") from exc
    return ray


def _call(fn: Callable[..., Any], threads: int, *args: Any) -> Any:
    """Runs on a Ray worker: torch threads = the CPUs the unit reserved, models on the GPU when it got one
    (Ray sets CUDA_VISIBLE_DEVICES to it), then the unit."""
    import os

    import ray

    from probecast.runtime import configure_threads

    configure_threads(threads)
    os.environ["PROBECAST_DEVICE"] = "cuda" if ray.get_gpu_ids() else "cpu"
    return fn(*args)


class RayExecutor:
    concurrent = True

    def __init__(self, options: RayOptions) -> None:
        ray = self.ray = _import_ray()
        self.options = options
        self.started = False
        if not ray.is_initialized():
            address = None if options.address == "local" else options.address
            try:
                local = {"include_dashboard": False} if address is None else {}
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, **local)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ProbecastError(f"--ray {options.address}: cannot reach a Ray cluster there ({exc}); start one "
                                     f"with `ray start --head`, or pass --ray local") from exc
            self.started = True
        resources = ray.cluster_resources()
        gpus = options.gpus if options.gpus is not None else (1.0 if resources.get("GPU", 0) > 0 else 0.0)
        if options.cpus > resources.get("CPU", 0) or gpus > resources.get("GPU", 0):
            raise ProbecastError(f"--ray-cpus {options.cpus:g} / --ray-gpus {gpus:g}: more than the whole cluster has "
                                 f"(CPU {resources.get('CPU', 0):g}, GPU {resources.get('GPU', 0):g}); lower them")
        self.threads = max(1, int(options.cpus))
        self._puts: dict[int, tuple[Any, Any]] = {}
        self.remote = ray.remote(_call).options(num_cpus=options.cpus, num_gpus=gpus,
                                                max_retries=options.max_retries, retry_exceptions=False)
        nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        self.where = (f"Ray {options.address}: {nodes} node(s), {resources.get('CPU', 0):g} CPU, "
                      f"{resources.get('GPU', 0):g} GPU; {options.cpus:g} CPU + {gpus:g} GPU per unit")

    def submit(self, fn: Callable[..., Any], *args: Any):
        return self.remote.remote(fn, self.threads, *[self._shared(a) for a in args])

    def _shared(self, arg: Any) -> Any:
        """An argument object put in the object store once, however many units get it (a task's questions, the
        compute function, a probe): Ray hands the worker the value."""
        if arg is None or isinstance(arg, (str, int, float, bool)):
            return arg
        if id(arg) not in self._puts:
            self._puts[id(arg)] = (arg, self.ray.put(arg))  # the object is kept, so its id stays its own
        return self._puts[id(arg)][1]

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[tuple[Any, Any, str | None]]:
        if not handles:
            return []
        ready, _ = self.ray.wait(list(handles), num_returns=1, timeout=timeout, fetch_local=True)
        if not ready:
            return []
        ref = ready[0]
        try:
            return [(ref, self.ray.get(ref), None)]
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # the unit's own error, or its node died more often than max_retries
            return [(ref, None, describe_error(exc))]

    def close(self) -> None:
        self._puts.clear()
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
        self.started = False
