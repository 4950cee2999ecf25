"""CLI: `probecast report`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast import validate as v


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        ws: Path = typer.Option(..., "--ws", help="Workspace folder.", callback=v.workspace_readable),
        out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default: W/report.html).",
                                             callback=v.output_file),
    ) -> None:
        """A self-contained HTML report: predicted vs actual scores over training, per-task AUROC and
        calibration, latency, forecasts, and the data behind them."""
        from probecast.report.build import build_report
        from probecast.workspace import Workspace

        path = build_report(Workspace(ws, create=False), out)
        typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
