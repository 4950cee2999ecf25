"""Atomic file writes: a reader (or a crash) never sees a half-written result.

Every result file in a workspace is written to a temporary sibling and renamed into place, so an interrupted
run leaves either the old file or the new one, never a truncated one. Resumable steps rely on this: a file
that exists is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; results should be as readable as any file
        os.replace(tmp_path, path)
    except OSError as exc:  # e.g. a full disk while writing through a file object: name the result it was for
        if exc.filename is None:  # (the CLI prints an OSError with a file name as one line, exit 2)
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_jsonl_atomic(path: str | os.PathLike[str], rows: list[dict]) -> None:
    """Rewrite a JSON-lines log in one piece (e.g. a training-loss log, after every checkpoint)."""
    write_text_atomic(path, "".join(json.dumps(r, default=_json_default) + "\n" for r in rows))


def write_json_atomic(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> None:
    write_text_atomic(path, json.dumps(obj, indent=indent, sort_keys=False, default=_json_default) + "\n")


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 110, **savefig_kwargs: Any) -> Path:
    """Save a matplotlib figure as PNG atomically, then close it (figures left open leak memory)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, **savefig_kwargs)
    plt.close(fig)
    return path


def write_parquet_atomic(path: str | os.PathLike[str], df: "Any", metadata: dict[str, Any] | None = None) -> None:
    """Write a pandas DataFrame as Parquet; `metadata` is stored as JSON in the schema under b"probecast"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata is not None:
        meta = dict(table.schema.metadata or {})
        meta[b"probecast"] = json.dumps(metadata, default=_json_default).encode()
        table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    from probecast.stored import parquet_schema

    meta = parquet_schema(path).metadata or {}
    raw = meta.get(b"probecast")
    return json.loads(raw) if raw else {}


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
