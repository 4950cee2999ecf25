"""CLI: `probecast label`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast.lock import writes_workspace


def register(app: typer.Typer) -> None:
    @app.command("label")
    @writes_workspace("label")
    def label_cmd(
        source: Optional[str] = typer.Argument(None, help="Run folder / checkpoint / .gguf / hub id (default: the workspace's checkpoints)."),
        ws: Path = typer.Option(..., "--ws", help="Workspace folder for the results."),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Tasks: synthetic, add,copy, gsm8k, piqa, FILE.jsonl (default: the workspace's)."),
        limit: Optional[int] = typer.Option(None, "--limit", help="At most this many questions per task."),
        samples: int = typer.Option(4, "--samples", help="Sampled completions per question (n)."),
        temperature: float = typer.Option(1.0, "--temperature"),
        top_p: float = typer.Option(1.0, "--top-p"),
        max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", help="Default: the task's own."),
        greedy: bool = typer.Option(True, "--greedy/--no-greedy", help="Also decode one greedy completion."),
        batch_size: int = typer.Option(64, "--batch-size"),
        checkpoints: Optional[str] = typer.Option(None, "--checkpoints", help="Only these checkpoint ids/steps."),
        dtype: str = typer.Option("float32", "--dtype"),
        threads: Optional[int] = typer.Option(None, "--threads"),
        seed: int = typer.Option(0, "--seed"),
        force: bool = typer.Option(False, "--force", help="Relabel the (checkpoint, task) pairs labelled with "
                                   "other settings (samples, temperature, limit, ...), replacing them."),
    ) -> None:
        """Label questions by real generative evaluation (pass@1 per question) → W/labels/. Pairs already
        labelled with the same settings are skipped; with other settings, an error names them (or --force)."""
        from rich.console import Console

        from probecast.labels.label import LabelConfig
        from probecast.labels.workspace_labels import label_workspace, label_table
        from probecast.identity import label_differences, stale_results
        from probecast.resolve import plan_tasks, record_checkpoints, remember_tasks, resolve_checkpoints
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        configure_threads(threads)
        w = Workspace(ws)
        ckpts = resolve_checkpoints(source, w, checkpoints)
        task_list, entries = plan_tasks(tasks, w, limit, force=force)
        cfg = LabelConfig(samples=samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                          greedy=greedy, batch_size=batch_size, seed=seed)
        redo = stale_results(ckpts, task_list, w.has_labels, lambda c, t: label_differences(w, c, t, cfg),
                             w.labels_path, force, "relabel")
        remember_tasks(w, entries)
        try:
            label_workspace(w, ckpts, task_list, cfg, dtype=dtype, redo=redo)
        finally:
            record_checkpoints(w, ckpts, task_list, w.has_labels)
        Console().print(label_table(w, ckpts, task_list))
