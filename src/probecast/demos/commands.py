"""`probecast demo`: the whole probe pipeline end to end, on the embedded default (`demos.embedded`) or on a
real model and its fine-tuning checkpoints (`demos.real`); both write DIR/summary.json in one format, printed
here as one results table."""

from __future__ import annotations

from pathlib import Path

import typer

from probecast import validate as v
from probecast.evaluation.commands import ci_header, fmt_ci, fmt_num
from probecast.evaluation.commands import in_checkpoint_table as evaluation_in_checkpoint_table
from probecast.lock import writes_workspace


def results_table(summary: dict):
    from rich.table import Table

    table = Table("method", "AUROC", ci_header(summary.get("auroc_paired")), "Brier", "|task err|", "Spearman",
                  title=f"test checkpoints {summary['test_checkpoints']} (trained on {summary['train_checkpoints']})")
    rows = [(f"{n} (probe){' *' if n == summary['best_probe'] else ''}", m) for n, m in summary["probes"].items()]
    rows += [(f"{n} (baseline)", m) for n, m in summary["baselines"].items()]
    for name, m in rows:
        table.add_row(name, fmt_num(m.get("auroc_mean")), fmt_ci(m.get("auroc_ci")),
                      *(fmt_num(m.get(k)) for k in ("brier_mean", "task_abs_err_mean", "spearman_mean")))
    return table


def in_checkpoint_table(summary: dict):
    mv = summary["demo"]["movement"]
    return evaluation_in_checkpoint_table(
        summary["in_checkpoint"], f"in-checkpoint (question folds, every checkpoint); movement: {mv['n_checkpoints']} "
        f"checkpoints, {mv['tasks_rising_0.2']} tasks rise >= 0.2, {mv['flipped_fraction']:.2f} flipped, best - worst "
        f"{mv['best_minus_worst']:.2f}", list(mv["pass1_by_task"]))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @writes_workspace("demo", param="out")
    def demo_cmd(
        out: Path = typer.Option(Path("demo-out"), "--out", help="Workspace folder to create (run in DIR/run).",
                                  callback=v.workspace_out),
        quick: bool = typer.Option(False, "--quick", help="Smaller run for tests (< 10 min on 2 cores)."),
        size: str = typer.Option("m", "--size", help="Embedded model size.",
                                  callback=v.one_of("xs", "s", "m", "l", "xl")),
        questions: int = typer.Option(None, "--questions", min=8, help="Questions per synthetic task (default 120, quick 60; at least 8); with --model smollm2: per skill task (default 40, quick 12)."),
        threads: int = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
        seed: int = typer.Option(0, "--seed", min=0, help="The training run's seed (initialisation, data order; with "
                                 "--model smollm2 also the skill questions' draw). 0 = the README's run."),
        model: str = typer.Option("embedded", "--model", help="embedded (toy run) or smollm2 (real model + fine-tuning).",
                                   callback=v.one_of("embedded", "smollm2")),
        lora: int = typer.Option(None, "--lora", min=1, help="With --model smollm2: fine-tune rank-R LoRA adapters on "
                                 "every block for 120 steps at lr 1e-3 (the README's LoRA run) instead of the top 8 "
                                 "blocks for 200 steps."),
        lr: float = typer.Option(None, "--lr", callback=v.positive, help="With --model smollm2: the fine-tuning "
                                 "learning rate (default 3e-4; with --lora 1e-3)."),
    ) -> None:
        """Train → label → extract → probes → evaluation → summary.json + plot, on the embedded default."""
        from probecast.ui import console as make_console

        from probecast.runtime import configure_threads

        if model == "embedded" and (lora is not None or lr is not None):
            from probecast.errors import ProbecastError

            raise ProbecastError(f"{'--lora' if lora is not None else '--lr'} sets the fine-tuning of --model "
                                 "smollm2; the embedded demo trains its own model (see train-toy): drop it or add "
                                 "--model smollm2")
        configure_threads(threads)
        if model == "embedded":
            from probecast.demos.embedded import DemoConfig, run_demo

            summary = run_demo(out, DemoConfig.make(quick, size, questions, seed))
        else:
            from probecast.demos.real import RealDemoConfig, run_real_demo

            summary = run_real_demo(out, RealDemoConfig.make(quick, model, questions, seed, lora, lr))
        console = make_console()
        console.print(results_table(summary))
        if "in_checkpoint" in summary:
            console.print(in_checkpoint_table(summary))
        from probecast.features.latency import describe

        console.print("latency per checkpoint: " + describe(summary["latency_s"], summary["latency_detail"]))
        console.print(f"[green]summary[/] {out / 'summary.json'}   [green]plot[/] {out / summary['plot']}")
