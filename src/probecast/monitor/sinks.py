"""Where monitor results go: one small sink interface, a registry by name, and the JSONL log.

Every evaluation (one checkpoint or one training step) produces one record per task and a flat dict of
metrics with the same names in every tracker:

    probecast/<task>/pred_pass1, probecast/<task>/pred_pass1_lo, probecast/<task>/pred_pass1_hi,
    probecast/<task>/audit_pass1 (audited evaluations only), probecast/<task>/latency_s,
    probecast/eval_latency_s (the whole evaluation: load + prefill + probe [+ audit])

A sink implements `log(step, metrics, records)` and `close()`. The JSONL sink is always on: it is the log
the report and the watcher's restart logic read. Its records of one evaluation are appended in a single
write and fsync'ed, and a truncated last line (a process killed mid-write) is cut off when the log is
opened again (with the whole records of an evaluation cut short), so the file only holds whole evaluations.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Callable, Protocol

from probecast.errors import ProbecastError
from probecast.monitor.trackers import TRACKERS, available_trackers, metric_name
from probecast.workspace import Workspace

RECORD_KEYS = ("checkpoint", "step", "task", "pred_pass1", "pred_pass1_lo", "pred_pass1_hi", "latency_s")


def metrics_of(records: list[dict], eval_latency_s: float) -> dict[str, float]:
    """The flat metric dict of one evaluation (NaN-valued audit fields left out)."""
    out: dict[str, float] = {metric_name(None, "eval_latency_s"): float(eval_latency_s)}
    for r in records:
        for what in ("pred_pass1", "pred_pass1_lo", "pred_pass1_hi", "audit_pass1", "latency_s"):
            value = r.get(what)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                out[metric_name(r["task"], what)] = float(value)
    return out


class Sink(Protocol):
    def log(self, step: int, metrics: dict[str, float], records: list[dict]) -> None: ...

    def close(self) -> None: ...


SinkFactory = Callable[[Workspace, str], Sink]
SINKS: dict[str, SinkFactory] = dict(TRACKERS)  # + jsonl below, + any sink a user registers


def register_sink(name: str):
    """Decorator: make a sink constructible by name as `factory(workspace, run_name)`."""

    def wrap(factory: SinkFactory) -> SinkFactory:
        SINKS[name] = factory
        return factory

    return wrap


def make_sinks(ws: Workspace, names: list[str] | tuple[str, ...], run_name: str) -> list[Sink]:
    """JSONL plus the named trackers. Naming a tracker whose package is missing is an error (say which to
    install); `auto` means every tracker that is importable."""
    wanted = [n.strip() for n in names if n.strip()]
    if "auto" in wanted:
        wanted = [n for n in wanted if n != "auto"] + available_trackers()
    unknown = sorted(set(wanted) - set(SINKS))
    if unknown:
        raise ProbecastError(f"--sinks: unknown sink(s) {unknown}; available: {sorted(SINKS)} (or auto)")
    ordered = ["jsonl"] + [n for n in dict.fromkeys(wanted) if n != "jsonl"]
    return [SINKS[n](ws, run_name) for n in ordered]


def jsonl_path(ws: Workspace) -> Path:
    return ws.monitor_dir / "predictions.jsonl"


@register_sink("jsonl")
class JSONLSink:
    """Append-only W/monitor/predictions.jsonl, one object per evaluation × task."""

    def __init__(self, ws: Workspace, run_name: str = "") -> None:
        self.path = jsonl_path(ws)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_jsonl(self.path)

    def log(self, step: int, metrics: dict[str, float], records: list[dict]) -> None:
        data = "".join(json.dumps(r, default=_plain) + "\n" for r in records).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)  # one append: concurrent writers and readers see whole evaluations
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        pass


def repair_jsonl(path: Path) -> None:
    """Cut what a process killed mid-write left at the end: a partial line, and the whole records of an
    evaluation that has fewer than its `n_records` (records of one evaluation share an `eval_id`)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    lines = data[:keep].splitlines(keepends=True)
    tail = [_loads(line) for line in lines[-1:]]
    if tail and tail[0] is not None and tail[0].get("eval_id") is not None:
        eval_id, n = tail[0]["eval_id"], tail[0].get("n_records", 1)
        j = len(lines)
        while j > 0 and (_loads(lines[j - 1]) or {}).get("eval_id") == eval_id:
            j -= 1
        if len(lines) - j < n:
            keep = sum(len(line) for line in lines[:j])
    if keep < len(data):
        with open(path, "r+b") as f:
            f.truncate(keep)


def _loads(line: bytes) -> dict | None:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def read_jsonl(path: Path) -> list[dict]:
    """Every whole record of a monitor log (a partial last line, or one that is not UTF-8 JSON, is ignored)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines():
        line = line.strip()
        if line and (record := _loads(line)) is not None:
            out.append(record)
    return out


def _plain(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
