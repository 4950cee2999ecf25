"""The `probecast` command line: a thin shell over the library.

Each layer owns its commands in `<layer>/commands.py`, exposing `register(app)`; this file only assembles them
and turns `ProbecastError` into a one-line message with exit code 2 (no traceback for bad input).
"""

from __future__ import annotations

import importlib
import sys

import typer

from probecast.errors import ProbecastError

app = typer.Typer(
    name="probecast",
    help="Predict downstream benchmark scores of LLM checkpoints while they train.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Explicit registry of command modules, in the order they appear in --help.
COMMAND_MODULES: list[str] = [
    "probecast.checkpoints.commands",
    "probecast.models.commands",
    "probecast.finetune.commands",
    "probecast.labels.lmeval",
    "probecast.labels.commands",
    "probecast.features.commands",
    "probecast.evaluation.commands",
    "probecast.forecast.commands",
    "probecast.dynamics.commands",
    "probecast.monitor.commands",
    "probecast.report.commands",
    "probecast.demos.commands",
]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # typer turns Ctrl-C into a returned 130 when not standalone
            sys.exit(code)
    except ProbecastError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # usage errors arrive here in standalone_mode=False
        if _is_usage_error(exc):
            exc.show()
            sys.exit(exc.exit_code)
        raise


def _is_usage_error(exc: Exception) -> bool:
    """click's ClickException, or the copy of it that recent typer versions vendor (typer._click)."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(exc, "show")


if __name__ == "__main__":
    main()
