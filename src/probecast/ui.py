"""What a person reads: progress of long loops, notes about dropped data, and consoles for tables (rich, one library).

- `steps(desc, total)` / `track(iterable, desc)`: a live rich bar on a terminal; when the output goes to a file
  or a pipe (a log), one plain line per step (at most one a second) plus a heartbeat line at least every
  10 seconds while a step runs, so a log shows where a long command is.
- `note(msg)`: one line on stderr about something the user should know but that is not an error (rows dropped
  from an input table, ...).
- `console()`: a rich console for tables; into a file or pipe it has no width limit, so ids are never cut;
  `id_column(values)` keeps an id column whole on a narrow terminal too.

Progress and notes go to stderr: stdout stays the command's result (tables, `--json`).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")
HEARTBEAT_S = 10.0  # a log line at least this often while a step runs
MIN_GAP_S = 1.0  # at most one plain line per this many seconds (except the last step)


def console(stderr: bool = False):
    from rich.console import Console

    c = Console(stderr=stderr)
    return c if c.is_terminal else Console(stderr=stderr, width=10_000, soft_wrap=True)


def id_column(values: Iterable[str]) -> dict:
    """rich `Table.add_column` keywords for a column of ids: never wrapped or cut with an ellipsis."""
    width = max((len(str(v)) for v in values), default=0)
    return {"no_wrap": True, "min_width": width, "overflow": "fold"}


def note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr, flush=True)


class Steps:
    """A loop's progress; `advance(what=...)` after each step, `describe(what=...)` when a step starts."""

    def __init__(self, desc: str, total: Optional[int], show: bool = True) -> None:
        self.desc, self.total, self.show = desc, total, show
        self.done, self.what = 0, ""
        self._t0 = self._last = time.monotonic()
        self._bar = self._task = self._beat = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ---- public ------------------------------------------------------------------------------------------
    def describe(self, what: str) -> None:
        self.what = what
        if self._bar is not None:
            self._bar.update(self._task, what=what)

    def advance(self, n: int = 1, what: Optional[str] = None) -> None:
        self.done += n
        if what is not None:
            self.what = what
        if self._bar is not None:
            self._bar.update(self._task, advance=n, what=self.what)
        elif self.show:
            now = time.monotonic()
            if now - self._last >= MIN_GAP_S or self.done == self.total or self.done == n:
                self._line()

    # ---- plumbing ----------------------------------------------------------------------------------------
    def __enter__(self) -> "Steps":
        if not self.show:
            return self
        out = console(stderr=True)
        if out.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            from rich.table import Column

            self._bar = Progress(TextColumn(self.desc), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[what]}", table_column=Column(overflow="fold")),
                                 TimeElapsedColumn(), console=out)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.desc, total=self.total, what=self.what)
        else:
            self._beat = threading.Thread(target=self._heartbeat, daemon=True)
            self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(1.0, HEARTBEAT_S / 3)):
            if time.monotonic() - self._last >= HEARTBEAT_S:
                self._line(running=True)

    def _line(self, running: bool = False) -> None:
        with self._lock:
            self._last = time.monotonic()
            of = f"/{self.total}" if self.total is not None else ""
            what = f" {self.what}" if self.what else ""
            state = " (running)" if running else ""
            print(f"{self.desc} {self.done}{of}{what}{state} [{_clock(self._last - self._t0)}]",
                  file=sys.stderr, flush=True)


def steps(desc: str, total: Optional[int], show: bool = True) -> Steps:
    return Steps(desc, total, show)


def track(items: Iterable[T], desc: str, total: Optional[int] = None, show: bool = True) -> Iterator[T]:
    """Iterate `items` with progress (`total` defaults to len(items) when it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with steps(desc, total, show) as bar:
        for item in items:
            yield item
            bar.advance()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
