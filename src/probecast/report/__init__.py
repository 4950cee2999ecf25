"""`probecast report`: one self-contained HTML page summarising a workspace after (or during) a run."""

from probecast.report.build import build_report

__all__ = ["build_report"]
