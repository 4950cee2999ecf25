"""`probecast demo`: the whole probe pipeline end to end, on the embedded default (`demos.embedded`) or on a
real model and its fine-tuning checkpoints (`demos.real`); both write DIR/summary.json in one format, printed
here as one results table."""

from __future__ import annotations

from pathlib import Path

import typer

from probecast.lock import writes_workspace


def results_table(summary: dict):
    from rich.table import Table

    table = Table("method", "AUROC", "Brier", "|task err|", "Spearman",
                  title=f"test checkpoints {summary['test_checkpoints']} (trained on {summary['train_checkpoints']})")
    rows = [(f"{n} (probe){' *' if n == summary['best_probe'] else ''}", m) for n, m in summary["probes"].items()]
    rows += [(f"{n} (baseline)", m) for n, m in summary["baselines"].items()]
    for name, m in rows:
        table.add_row(name, *(_fmt(m.get(k)) for k in ("auroc_mean", "brier_mean", "task_abs_err_mean", "spearman_mean")))
    return table


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @writes_workspace("demo", param="out")
    def demo_cmd(
        out: Path = typer.Option(Path("demo-out"), "--out", help="Workspace folder to create (run in DIR/run)."),
        quick: bool = typer.Option(False, "--quick", help="Smaller run for tests (< 10 min on 2 cores)."),
        size: str = typer.Option("m", "--size", help="Embedded model size."),
        questions: int = typer.Option(None, "--questions", help="Questions per synthetic task (default 120, quick 60)."),
        threads: int = typer.Option(None, "--threads", help="torch threads (default: all cores)."),
        model: str = typer.Option("embedded", "--model", help="embedded (toy run) or smollm2 (real model + fine-tuning)."),
    ) -> None:
        """Train → label → extract → probes → evaluation → summary.json + plot, on the embedded default."""
        from rich.console import Console

        from probecast.runtime import configure_threads

        configure_threads(threads)
        if model == "embedded":
            from probecast.demos.embedded import DemoConfig, run_demo

            summary = run_demo(out, DemoConfig.make(quick, size, questions))
        else:
            from probecast.demos.real import RealDemoConfig, run_real_demo

            summary = run_real_demo(out, RealDemoConfig.make(quick, model))
        console = Console()
        console.print(results_table(summary))
        lat = summary["latency_s"]
        console.print(f"latency per checkpoint: generative {lat['generative']:.2f}s, probe {lat['probe']:.2f}s, "
                      f"prefill floor {lat['prefill_floor']:.2f}s → {lat['generative'] / lat['probe']:.1f}× faster, "
                      f"{lat['probe'] / lat['prefill_floor']:.2f}× the floor")
        console.print(f"[green]summary[/] {out / 'summary.json'}   [green]plot[/] {out / summary['plot']}")
