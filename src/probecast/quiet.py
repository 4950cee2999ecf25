"""Keep the libraries' warnings and log chatter out of the user's output (the CLI's default; `--verbose` skips it).

One place decides what a person sees: probecast's own messages, progress and errors. Deprecation notices
(`DeprecationWarning`, `FutureWarning`) are addressed to developers, so they are hidden wherever they come
from; other warnings are hidden when a dependency raises them; transformers' and huggingface_hub's loggers
show errors only. Everything is restored when the command ends (tests and notebooks calling `main` keep
their own settings).

Child processes do not inherit warning filters or logger levels (vLLM's engine is spawned and prints its
start-up chatter from its own interpreter), so while the CLI is quiet, `child_output_to_log` points file
descriptors 1 and 2 at a log file for as long as such processes are being started: they keep writing there for
their whole life, and the caller can name the log when the start fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

# Loggers of dependencies that report through `logging` (transformers' `logger.warning_once` among them).
_LOGGERS = ("transformers", "huggingface_hub", "accelerate", "torch", "datasets", "lightning", "pytorch_lightning",
            "vllm")
# Read by transformers when it is first imported (after this, the logger levels above take over).
_ENV = {"TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}


_active = 0  # nesting depth of quiet_dependencies


@contextlib.contextmanager
def quiet_dependencies() -> Iterator[None]:
    global _active
    saved_env = {k: os.environ.get(k) for k in _ENV}
    saved_levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("ignore", module=r"(?!probecast(\.|$))")  # any other warning of a dependency
        for k, v in _ENV.items():
            os.environ.setdefault(k, v)
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        _transformers_verbosity_error()
        _active += 1
        try:
            yield
        finally:
            _active -= 1
            for name, level in saved_levels.items():
                logging.getLogger(name).setLevel(level)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _transformers_verbosity_error() -> None:
    """transformers keeps its own root level; set it when transformers is already imported (else the env var does)."""
    tf_logging = sys.modules.get("transformers.utils.logging")
    if tf_logging is not None:
        tf_logging.set_verbosity_error()


@contextlib.contextmanager
def child_output_to_log(prefix: str) -> Iterator[Path | None]:
    """While quiet: stdout and stderr (the file descriptors, so child processes started meanwhile inherit them)
    go to a new log file, whose path is yielded; restored on exit (the log stays for the caller to name or
    delete). Not quiet (`--verbose`, tests, notebooks): nothing is redirected and None is yielded."""
    if not _active:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix=f"probecast-{prefix}-", suffix=".log")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield Path(name)
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (*saved, fd):
            os.close(f)
