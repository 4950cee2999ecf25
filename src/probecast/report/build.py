"""Build the report: read the workspace (`data.py`), draw (`figures.py`), render (`html.py`), write atomically."""

from __future__ import annotations

from pathlib import Path

from probecast.errors import ProbecastError
from probecast.io import write_text_atomic
from probecast.report.data import load_report_data
from probecast.report.html import render
from probecast.workspace import Workspace


def build_report(ws: Workspace, out: str | Path | None = None) -> Path:
    """Write the HTML report (default W/report.html) and return its path."""
    data = load_report_data(ws)
    if data.is_empty():
        raise ProbecastError(f"{ws.root}: nothing to report (no evaluation/, labels/, monitor/ or forecasts/); run "
                             f"`probecast demo`, `probecast evaluate` or `probecast watch` first")
    path = Path(out) if out is not None else ws.root / "report.html"
    write_text_atomic(path, render(data))
    return path
