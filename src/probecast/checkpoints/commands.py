"""CLI: `probecast train-toy` and `probecast checkpoints`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast import validate as v


def register(app: typer.Typer) -> None:
    @app.command("train-toy")
    def train_toy_cmd(
        out: Path = typer.Option(..., "--out", help="Run folder to write checkpoints into.", callback=v.output_dir),
        quick: bool = typer.Option(False, "--quick", help="A ~2-minute run for tests (fewer steps/checkpoints)."),
        size: str = typer.Option("m", "--size", help="Model size: xs, s, m, l, xl.",
                                  callback=v.one_of("xs", "s", "m", "l", "xl")),
        steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Override the number of training steps."),
        seed: int = typer.Option(0, "--seed", min=0),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
    ) -> None:
        """Train the embedded tiny Llama on the synthetic world (CPU) and save HF checkpoints."""
        from probecast.ui import console

        from probecast.runtime import configure_threads
        from probecast.toy.train import ToyConfig, train_toy

        configure_threads(threads)
        cfg = ToyConfig.quick(size) if quick else ToyConfig(size=size)
        cfg.seed = seed
        if steps:
            cfg.steps = steps
        records = train_toy(out, cfg)
        console().print(f"[green]{len(records)} checkpoints[/] in {out}: steps {[r['step'] for r in records]}")

    @app.command("checkpoints")
    def checkpoints_cmd(source: str = typer.Argument(..., help="Run folder, checkpoint folder, .gguf or hub id.")) -> None:
        """List the checkpoints found in SOURCE with step, tokens and FLOPs."""
        from probecast.ui import console
        from rich.table import Table

        from probecast.checkpoints.discover import discover_checkpoints

        table = Table("id", "step", "tokens", "flops", "params", "path")
        for c in discover_checkpoints(source):
            table.add_row(c.id, str(c.step), _fmt(c.tokens), _fmt(c.flops), _fmt(c.params), c.path)
        console().print(table)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"
