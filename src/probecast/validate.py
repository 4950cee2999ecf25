"""Checks of the command line's file and folder arguments, run by click before a command does any work.

Each function is a typer `callback=`: it returns the value unchanged or raises `typer.BadParameter`, which the
CLI prints as one line naming the option (`error: Invalid value for '--ws': ...`) with exit code 2. Numeric
options declare their range where they are declared (typer's `min=`/`max=`), so nothing here repeats them.

- `workspace_in`: a workspace a command reads and writes results into: an existing, readable, writable folder;
  `workspace_readable`: one it only reads.
- `workspace_out`: a workspace a command creates or adds to: a folder (not a file) that exists and is writable,
  or can be created (its nearest existing parent is a writable folder).
- `input_file` / `input_files` / `input_paths`: files (or files and folders) that exist and are readable.
- `output_file` / `output_dir`: where a command writes: not the wrong kind of thing, and writable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import typer


def _bad(msg: str) -> typer.BadParameter:
    return typer.BadParameter(msg)


def _can_write_in(folder: Path) -> bool:
    """True when a file can be created in `folder` (tries it: access bits alone lie for root and read-only mounts)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_creatable(path: Path, kind: str) -> None:
    parent = _nearest_existing(path)
    if not parent.is_dir():
        raise _bad(f"cannot create {kind} {path}: {parent} is a file, not a folder")
    if not _can_write_in(parent):
        raise _bad(f"cannot create {kind} {path}: {parent} is not writable; choose another location")


def workspace_in(value: Optional[Path]) -> Optional[Path]:
    """An existing workspace the command reads and writes results into (fit, predict, evaluate, latency, watch)."""
    workspace_readable(value)
    if value is not None and not _can_write_in(value):
        raise _bad(f"workspace {value} is not writable; fix its permissions (or copy it somewhere writable)")
    return value


def workspace_readable(value: Optional[Path]) -> Optional[Path]:
    """An existing workspace the command only reads (report, which writes its HTML where --out says)."""
    if value is not None and not value.exists():
        raise _bad(f"workspace {value} does not exist; create it with `probecast label ... --ws {value}` "
                   f"(or `probecast demo --out {value}`)")
    if value is not None and not value.is_dir():
        raise _bad(f"workspace {value} is a file, not a folder; give the workspace folder")
    return input_path(value)


def workspace_out(value: Optional[Path]) -> Optional[Path]:
    if value is None:
        return value
    if value.exists():
        if not value.is_dir():
            raise _bad(f"{value} is a file, not a folder; give a workspace folder (new or existing)")
        if not _can_write_in(value):
            raise _bad(f"workspace {value} is not writable; fix its permissions or choose another folder")
    else:
        _check_creatable(value, "workspace")
    return value


output_dir = workspace_out


def input_file(value: Optional[Path]) -> Optional[Path]:
    if input_path(value) is not None and value.is_dir():
        raise _bad(f"{value} is a folder; give a file")
    return value


def input_path(value: Optional[Path]) -> Optional[Path]:
    """A file or a folder that exists and is readable."""
    if value is None:
        return value
    if not value.exists():
        raise _bad(f"{value} does not exist")
    if not os.access(value, os.R_OK):
        raise _bad(f"{value} is not readable; check its permissions")
    return value


def input_files(values: Optional[Sequence[Path]]) -> Optional[Sequence[Path]]:
    for v in values or []:
        input_file(v)
    return values


def input_paths(values: Optional[Sequence[Path]]) -> Optional[Sequence[Path]]:
    for v in values or []:
        input_path(v)
    return values


def output_file(value: Optional[Path]) -> Optional[Path]:
    if value is None:
        return value
    if value.is_dir():
        raise _bad(f"{value} is a folder; give a file name")
    if value.exists() and not os.access(value, os.W_OK):
        raise _bad(f"{value} is not writable; check its permissions or choose another file")
    if not value.parent.exists():
        _check_creatable(value.parent, "folder")
    elif not value.parent.is_dir():
        raise _bad(f"cannot write {value}: {value.parent} is a file, not a folder")
    elif not _can_write_in(value.parent):
        raise _bad(f"cannot write {value}: {value.parent} is not writable; choose another location")
    return value


def one_of(*choices: str, sep: Optional[str] = None):
    """A callback accepting only `choices` (for string options whose values are a fixed list): each value of a
    repeatable option too, and with `sep` each name of a list (`--sinks tensorboard,wandb`; blanks are skipped)."""
    def check(value):
        values = [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
        if sep:
            values = [name.strip() for v in values for name in v.split(sep) if name.strip()]
        wrong = [v for v in values if v not in choices]
        if wrong:
            raise _bad(f"{wrong[0]!r} is not one of {', '.join(choices)}")
        return value
    return check


def layer_list(value: Optional[str]) -> Optional[str]:
    """`--layers 0,2,-1`: comma-separated integers (checked against the model's depth when it is loaded)."""
    if value is None:
        return value
    try:
        [int(x) for x in value.split(",")]
    except ValueError:
        raise _bad(f"{value!r} is not a comma-separated list of integers (hidden_states indices)") from None
    return value


def names(value: Optional[str]) -> Optional[str]:
    """A comma-separated list of names (`--methods`, `--tasks`, ...): given, it names at least one (`--methods ,`
    would otherwise mean the default, silently)."""
    if value is not None and not [v for v in value.split(",") if v.strip()]:
        raise _bad(f"{value!r} names nothing; give comma-separated names, or leave the option out for the default")
    return value


def positive(value: Optional[float]) -> Optional[float]:
    """A number that must be > 0 (a scale, a radius, a learning rate): typer's `min=` is inclusive and its help shows
    no exclusive bound, so the option's help text says `> 0`."""
    if value is not None and not value > 0:
        raise _bad(f"{value} must be > 0")
    return value


def finite(value: Optional[float]) -> Optional[float]:
    """A number that must be finite (typer reads `inf` and `nan` as floats; a range check lets `inf` through)."""
    import math

    if value is not None and not math.isfinite(value):
        raise _bad(f"{value} is not a finite number; give one like 1e21")
    return value
