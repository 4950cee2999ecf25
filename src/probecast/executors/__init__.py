"""Where the checkpoint × task units run: this process, or a Ray cluster. Chosen in one place (`make_executor`).

An executor runs plain functions and hands their results back to the caller, which stays the only writer of
the workspace. One protocol:

- `submit(fn, *args) -> handle`: schedule `fn(*args)` (lazily for the local executor, as a Ray task for Ray);
- `wait(handles, timeout) -> [(handle, result, error)]`: the units that finished, at least one when `timeout`
  is None (the local executor runs the oldest pending unit then); `error` is a one-line message or None;
- `close()`: release what the executor started (a local Ray it launched, a loaded model).

`map_units` is the loop every caller uses on top of it (results in completion order).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Protocol, Sequence

from probecast.executors.options import RayOptions


class Executor(Protocol):
    where: str  # a short description for progress lines ("this process", "Ray: 2 nodes, 2 CPU")
    concurrent: bool  # whether submitted units run side by side (else one at a time, inside `wait`)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[tuple[Any, Any, str | None]]: ...

    def close(self) -> None: ...


def make_executor(ray: RayOptions | None = None) -> Executor:
    """The one place that chooses: no `--ray` runs here, `--ray ADDRESS` on a Ray cluster."""
    if ray is None or not ray.address:
        from probecast.executors.local import LocalExecutor

        return LocalExecutor()
    from probecast.executors.ray_executor import RayExecutor

    return RayExecutor(ray)


@contextlib.contextmanager
def open_executor(ray: RayOptions | None = None) -> Iterator[Executor]:
    """`make_executor`, closed on exit (a local Ray it started is stopped)."""
    executor = make_executor(ray)
    try:
        yield executor
    finally:
        executor.close()


def call(executor: Executor, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` on the executor (a Ray worker with the unit's resources, or here); its error as a ProbecastError."""
    from probecast.errors import ProbecastError

    handle = executor.submit(fn, *args)
    while True:
        for _, result, error in executor.wait([handle]):
            if error is not None:
                raise ProbecastError(f"{getattr(fn, '__name__', 'unit')} failed on {executor.where}: {error}")
            return result


def map_units(executor: Executor, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[tuple[int, Any, str | None]]:
    """Submit `fn(*a)` for every `a` in `args`; yield (index, result, error) as each finishes."""
    index = {executor.submit(fn, *a): i for i, a in enumerate(args)}  # handles are hashable
    pending = list(index)
    while pending:
        for handle, result, error in executor.wait(pending):
            pending.remove(handle)
            yield index.pop(handle), result, error
