"""The `probecast` command line: a thin shell over the library.

Each layer owns its commands in `<layer>/commands.py`, exposing `register(app)`; this file only assembles them
and turns `ProbecastError` into a one-line message with exit code 2 (no traceback for bad input).
"""

from __future__ import annotations

import importlib
import sys

import typer

from probecast.errors import ProbecastError
from probecast.quiet import quiet_dependencies

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


@app.callback()
def _options(ctx: typer.Context,
             verbose: bool = typer.Option(False, "--verbose", envvar="PROBECAST_VERBOSE",
                                          help="Show warnings and log messages of the libraries probecast uses "
                                               "(transformers, torch, ...), and tracebacks of OS errors.")) -> None:
    """Predict downstream benchmark scores of LLM checkpoints while they train."""
    ctx.obj = {"verbose": verbose}
    if not verbose:
        ctx.with_resource(quiet_dependencies())


_register_all()


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # typer turns Ctrl-C into a returned 130 when not standalone
            sys.exit(code)
    except ProbecastError as exc:
        _fail(str(exc))
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except OSError as exc:  # a file the user named or the disk: permissions, space, a vanished folder
        if exc.filename is None or _verbose(argv):
            raise
        _fail(f"{exc.filename}: {exc.strerror or exc}; check the path, its permissions and free space")
    except Exception as exc:  # usage errors (bad option values, missing arguments) arrive here in standalone_mode=False
        if _is_usage_error(exc):
            if not exc.format_message().strip():  # `probecast` / `probecast forecast` alone: the help is the answer
                exc.show()
                sys.exit(exc.exit_code)
            _fail(_usage_message(exc), getattr(exc, "exit_code", 2) or 2)
        raise


def _fail(message: str, code: int = 2) -> None:
    """The one line a user sees for bad input (newlines in a message are folded so it stays one line)."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)


def _usage_message(exc: Exception) -> str:
    """click's message plus where to look: `Invalid value for '--samples': 0 is not in the range x>=1.`"""
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return f"{exc.format_message()}{hint}"


def _verbose(argv: list[str] | None) -> bool:
    import os

    args = sys.argv[1:] if argv is None else argv
    return "--verbose" in args or os.environ.get("PROBECAST_VERBOSE", "").lower() in {"1", "true", "yes"}


def _is_usage_error(exc: Exception) -> bool:
    """click's ClickException, or the copy of it that recent typer versions vendor (typer._click)."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(exc, "format_message")


if __name__ == "__main__":
    main()
