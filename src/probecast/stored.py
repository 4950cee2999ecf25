"""Reading the files a workspace (or a user) hands a command: a damaged one is bad input, not a crash.

A truncated or hand-edited checkpoints.json, a labels file that is not Parquet, a features file cut short by a
full disk: each reader here turns the library's exception (json, pyarrow, pandas, safetensors) into one
`ProbecastError` line naming the file and the step that writes it again (`redo_hint`), so the CLI prints
`error: ...` with exit code 2 instead of a traceback.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterator

from probecast.errors import ProbecastError

# the workspace's layout (workspace.py) -> the command that writes that file again
_REDO = (
    ("checkpoints.json", "delete it and record the checkpoints again (`probecast label RUN_DIR --ws W`)"),
    ("tasks.json", "delete it and pass --tasks again"),
    ("summary.json", "delete it (or restore a backup) and run the steps that write it again: `probecast evaluate`, "
                     "`evaluate-in-checkpoint`, `latency` (a demo's: `probecast demo` with the same --out)"),
    ("labels", "delete it and label that checkpoint again (`probecast label`, or `probecast import-lmeval`)"),
    ("features", "delete it and run `probecast extract` again"),
    ("probes", "delete that probe folder and fit it again (`probecast fit`)"),
    ("predictions", "delete it; `probecast predict` writes it again"),
    ("evaluation", "delete it and run `probecast evaluate` again"),
    ("monitor", "delete it (or restore a backup); `probecast watch` starts it again"),
)


def redo_hint(path: str | Path) -> str:
    """What to do about a damaged file at `path`, from where it sits in the workspace layout."""
    parts = Path(path).parts
    for name, hint in _REDO:
        if name in parts[-3:]:
            return hint
    return "check the file, or delete it and re-run the step that wrote it"


def damaged(path: str | Path, kind: str, exc: BaseException | str, hint: str | None = None) -> ProbecastError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return ProbecastError(f"{path}: not a readable {kind} file ({reason[:200]}); {hint or redo_hint(path)}")


def read_json(path: str | Path, expect: type | tuple[type, ...] | None = None, hint: str | None = None) -> Any:
    """The JSON in `path`; `expect` = the type its top level must have (a list of records, a dict); `hint` = what to
    do about a damaged one, for a file the workspace layout (`redo_hint`) does not know (e.g. lm-eval's)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise damaged(path, "JSON", exc, hint) from None
    if expect is not None and not isinstance(obj, expect):
        names = " or ".join(t.__name__ for t in (expect if isinstance(expect, tuple) else (expect,)))
        raise damaged(path, "JSON", f"expected a {names.replace('dict', 'JSON object').replace('list', 'JSON list')} "
                                    f"at the top, found {type(obj).__name__}", hint)
    return obj


def read_parquet(path: str | Path, **kwargs: Any):
    """`pd.read_parquet(path, **kwargs)`; a file that is not Parquet (or lacks a requested column) -> one line."""
    import pandas as pd
    import pyarrow as pa

    try:
        return pd.read_parquet(path, **kwargs)
    except (pa.ArrowException, ValueError, KeyError) as exc:  # ArrowInvalid/ArrowIOError, missing columns
        raise damaged(path, "Parquet", exc) from None


def read_csv(path: str | Path, hint: str | None = None, **kwargs: Any):
    """`pd.read_csv(path, **kwargs)`; an empty, binary or malformed file -> one line naming it (and `hint`: what a
    readable one holds)."""
    import pandas as pd

    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ProbecastError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})"
                             + (f"; {hint}" if hint else "")) from None


def parquet_schema(path: str | Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except (pa.ArrowException, ValueError) as exc:
        raise damaged(path, "Parquet", exc) from None


@contextlib.contextmanager
def open_safetensors(path: str | Path) -> Iterator[Any]:
    """`safe_open(path, framework="numpy")`: a truncated or foreign file -> one line naming it."""
    from safetensors import SafetensorError, safe_open

    if not Path(path).is_file():
        raise ProbecastError(f"{path}: missing; {redo_hint(path)}")
    try:
        handle = safe_open(str(path), framework="numpy")
    except (SafetensorError, ValueError) as exc:
        raise damaged(path, "safetensors", exc) from None
    with handle as f:
        try:
            yield f
        except SafetensorError as exc:
            raise damaged(path, "safetensors", exc) from None


def load_safetensors(path: str | Path) -> dict:
    """Every array of a safetensors file (`safetensors.numpy.load_file`), checked like `open_safetensors`."""
    with open_safetensors(path) as f:
        return {k: f.get_tensor(k) for k in f.keys()}
