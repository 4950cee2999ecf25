"""The local executor: every unit runs in this process, one at a time, when the caller waits for it.

Lazy on purpose: `map_units` submits everything up front, and each `wait` then runs just the oldest unit, so
results are written one by one as they come (never all held in memory) and an interrupted run keeps every
unit finished before it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from probecast.executors.options import describe_error


class _Unit:
    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
        self.fn, self.args = fn, args


class LocalExecutor:
    where = "this process"
    concurrent = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Unit:
        return _Unit(fn, args)

    def wait(self, handles: Sequence[_Unit], timeout: float | None = None) -> list[tuple[_Unit, Any, str | None]]:
        if not handles:
            return []
        unit = handles[0]
        try:
            return [(unit, unit.fn(*unit.args), None)]
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # reported with its checkpoint and task by the caller; the others still run
            return [(unit, None, describe_error(exc))]

    def close(self) -> None:
        pass  # nothing started; the caller frees its loaded model
