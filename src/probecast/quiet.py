"""Keep the libraries' warnings and log chatter out of the user's output (the CLI's default; `--verbose` skips it).

One place decides what a person sees: probecast's own messages, progress and errors. Deprecation notices
(`DeprecationWarning`, `FutureWarning`) are addressed to developers, so they are hidden wherever they come
from; other warnings are hidden when a dependency raises them; transformers' and huggingface_hub's loggers
show errors only. Everything is restored when the command ends (tests and notebooks calling `main` keep
their own settings).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from typing import Iterator

# Loggers of dependencies that report through `logging` (transformers' `logger.warning_once` among them).
_LOGGERS = ("transformers", "huggingface_hub", "accelerate", "torch", "datasets", "lightning", "pytorch_lightning")
# Read by transformers when it is first imported (after this, the logger levels above take over).
_ENV = {"TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}


@contextlib.contextmanager
def quiet_dependencies() -> Iterator[None]:
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
        try:
            yield
        finally:
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
