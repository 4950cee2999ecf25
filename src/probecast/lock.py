"""One writer per workspace: a command that writes results holds W/.probecast.lock while it runs.

A second writing command on the same workspace does not wait: it exits at once with one line,
`error: workspace W is in use by `probecast watch ...` (pid 123 on host, since 05:40:12 UTC); ...`, exit 2,
and touches nothing. A watcher can hold a workspace for days, so a silent wait would look like a hang; the
message says who holds it and what to do. Reading (`report`, the forecasters) takes no lock: every result file
is written atomically, so a reader sees the old file or the new one.

The lock is an OS file lock (`filelock`: flock on Unix), released by the kernel when the holder ends, even on
kill -9, so it never goes stale. The empty lock file stays in place (waiters must share its inode); the
holder's details live in W/.probecast.lock.json only while it runs. Commands take it with the
`writes_workspace` decorator (checked before the command's body does any work); library callers (the demo's
steps, trainer callbacks) take none, since they run inside the one process that owns the workspace.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from probecast.errors import ProbecastError
from probecast.io import write_json_atomic

LOCK_FILE = ".probecast.lock"
HOLDER_FILE = ".probecast.lock.json"


@contextlib.contextmanager
def workspace_lock(root: str | Path, command: str) -> Iterator[None]:
    """Hold the workspace's writer lock for the block; ProbecastError at once when another process holds it."""
    from filelock import FileLock, Timeout

    root = Path(root)
    lock = FileLock(str(root / LOCK_FILE), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise ProbecastError(f"workspace {root} is in use by {_holder(root)}; one command writes to a workspace "
                             f"at a time: wait for it to finish (or stop it), then run this again, or use another "
                             f"--ws") from None
    except OSError as exc:
        raise ProbecastError(f"{root}: cannot create the lock file {LOCK_FILE} ({exc.strerror}); give a workspace "
                             f"folder you can write to") from None
    holder = root / HOLDER_FILE
    try:
        write_json_atomic(holder, {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                                   "since": time.time()})
        yield
    finally:
        with contextlib.suppress(OSError):
            holder.unlink()
        lock.release()


def _holder(root: Path, wait: float = 1.0) -> str:
    """Who holds the lock, from the file its holder writes right after taking it: a holder that has just taken it
    may not have written it yet, so a missing file is read again for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            h = json.loads((root / HOLDER_FILE).read_text())
            since = time.strftime("%H:%M:%S UTC", time.gmtime(h["since"]))
            return f"`{h['command']}` (pid {h['pid']} on {h['host']}, since {since})"
        except FileNotFoundError:
            if time.monotonic() >= deadline:
                return "another probecast command"
            time.sleep(0.05)
        except (OSError, ValueError, KeyError, TypeError):
            return "another probecast command"


def writes_workspace(command: str, param: str = "ws", create: bool = True) -> Callable:
    """Decorate the CLI command `command` whose option `param` names the workspace it writes: the lock is taken
    before the body runs and released when it returns or raises. With create=False a missing folder is left
    for the command's own check (nothing to lock); a folder created here is removed again when the command
    fails before writing anything into it."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs):
            root = Path(kwargs[param])
            if not root.is_dir():
                if not create or root.exists():
                    return fn(*args, **kwargs)  # the command reports the missing folder / the file in the way
                created = [root, *[p for p in root.parents if not p.exists()]]  # deepest first
                try:
                    root.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise ProbecastError(f"--{param.replace('_', '-')} {root}: cannot create the workspace "
                                         f"folder ({exc.strerror})") from None
                return _in_new_folder(root, created, command, fn, args, kwargs)
            with workspace_lock(root, _command_line(command)):
                return fn(*args, **kwargs)
        return run
    return wrap


def _in_new_folder(root: Path, created: list[Path], command: str, fn: Callable, args, kwargs):
    try:
        with workspace_lock(root, _command_line(command)):
            return fn(*args, **kwargs)
    except BaseException:
        if {p.name for p in root.iterdir()} <= {LOCK_FILE}:  # nothing written: leave no trace of the attempt
            (root / LOCK_FILE).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                for folder in created:  # the workspace and the parents made for it
                    folder.rmdir()
        raise


def _command_line(command: str) -> str:
    """`probecast watch runs/x --ws W ...` as the user typed it (cut to 120 characters), else the command."""
    if Path(sys.argv[0]).name == "probecast":
        line = " ".join(["probecast", *sys.argv[1:]])
        return line if len(line) <= 120 else line[:119] + "…"
    return f"probecast {command}"
