"""CLI: `probecast extract`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("extract")
    def extract_cmd(
        source: Optional[str] = typer.Argument(None, help="Run folder / checkpoint (default: the workspace's checkpoints)."),
        ws: Path = typer.Option(..., "--ws", help="Workspace folder."),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Default: the tasks the workspace's labels used."),
        limit: Optional[int] = typer.Option(None, "--limit"),
        layers: Optional[str] = typer.Option(None, "--layers", help="Comma-separated hidden_states indices (default: all)."),
        tail_tokens: int = typer.Option(8, "--tail-tokens", help="Keep the last T prompt-token states (0 = off)."),
        dtype: str = typer.Option("float16", "--store-dtype", help="float16 or float32 storage."),
        batch_size: int = typer.Option(64, "--batch-size"),
        checkpoints: Optional[str] = typer.Option(None, "--checkpoints"),
        threads: Optional[int] = typer.Option(None, "--threads"),
    ) -> None:
        """One prefill pass per checkpoint × task: pooled hidden states + answer log-likelihood → W/features/."""
        from rich.console import Console

        from probecast.features.extract import ExtractConfig
        from probecast.features.workspace_features import extract_workspace
        from probecast.resolve import resolve_checkpoints, resolve_tasks
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        configure_threads(threads)
        w = Workspace(ws)
        ckpts = resolve_checkpoints(source, w, checkpoints)
        task_list = resolve_tasks(tasks, w, limit)
        cfg = ExtractConfig(layers=tuple(int(x) for x in layers.split(",")) if layers else None,
                            tail_tokens=tail_tokens, dtype=dtype, batch_size=batch_size)
        n = extract_workspace(w, ckpts, task_list, cfg)
        Console().print(f"[green]extracted {n} checkpoint × task blocks[/] into {w.root / 'features'}")
