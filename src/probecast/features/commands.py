"""CLI: `probecast extract`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast.lock import writes_workspace


def register(app: typer.Typer) -> None:
    register_latency(app)

    @app.command("extract")
    @writes_workspace("extract")
    def extract_cmd(
        source: Optional[str] = typer.Argument(None, help="Run folder / checkpoint (default: the workspace's checkpoints)."),
        ws: Path = typer.Option(..., "--ws", help="Workspace folder."),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Default: the tasks the workspace's labels used."),
        limit: Optional[int] = typer.Option(None, "--limit"),
        layers: Optional[str] = typer.Option(None, "--layers", help="Comma-separated hidden_states indices (default: all)."),
        tail_tokens: int = typer.Option(8, "--tail-tokens", help="Keep the last T prompt-token states (0 = off)."),
        dtype: str = typer.Option("float16", "--store-dtype", help="float16 or float32 storage."),
        batch_size: int = typer.Option(32, "--batch-size"),
        checkpoints: Optional[str] = typer.Option(None, "--checkpoints"),
        threads: Optional[int] = typer.Option(None, "--threads"),
        force: bool = typer.Option(False, "--force", help="Re-extract the (checkpoint, task) pairs extracted with "
                                   "other settings (layers, tail tokens, storage dtype, questions), replacing them."),
    ) -> None:
        """One prefill pass per checkpoint × task: pooled hidden states + answer log-likelihood → W/features/.
        Pairs already extracted with the same settings are skipped; with other settings, an error names them."""
        from rich.console import Console

        from probecast.features.extract import ExtractConfig
        from probecast.features.workspace_features import extract_workspace
        from probecast.identity import feature_differences, stale_results
        from probecast.resolve import record_checkpoints, resolve_checkpoints, resolve_tasks
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        configure_threads(threads)
        w = Workspace(ws)
        ckpts = resolve_checkpoints(source, w, checkpoints)
        task_list = resolve_tasks(tasks, w, limit)
        cfg = ExtractConfig(layers=tuple(int(x) for x in layers.split(",")) if layers else None,
                            tail_tokens=tail_tokens, dtype=dtype, batch_size=batch_size)
        has = lambda c, t: w.features_path(c, t).exists()  # noqa: E731
        redo = stale_results(ckpts, task_list, has, lambda c, t: feature_differences(w, c, t, cfg),
                             w.features_path, force, "re-extract")
        try:
            n = extract_workspace(w, ckpts, task_list, cfg, redo=redo)
        finally:
            record_checkpoints(w, ckpts, task_list, has)
        Console().print(f"[green]extracted {n} checkpoint × task blocks[/] into {w.root / 'features'}")


def register_latency(app: typer.Typer) -> None:
    @app.command("latency")
    @writes_workspace("latency", create=False)
    def latency_cmd(
        ws: Path = typer.Option(..., "--ws", help="Workspace with labels, features and a fitted probe."),
        probe: Optional[str] = typer.Option(None, "--probe", help="Fitted probe (default: summary.json best_probe)."),
        checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Checkpoint id (default: the last)."),
        repeats: int = typer.Option(3, "--repeats"),
        threads: Optional[int] = typer.Option(None, "--threads"),
    ) -> None:
        """Wall time of generative labelling vs probe vs bare prefill on one checkpoint → summary.json latency_s."""
        import json

        from rich.console import Console

        from probecast.errors import ProbecastError
        from probecast.features.extract import ExtractConfig
        from probecast.features.latency import latency_summary, measure_latency
        from probecast.features.store import read_features_metadata
        from probecast.io import write_json_atomic
        from probecast.labels.label import LabelConfig
        from probecast.probes.base import load_probe
        from probecast.resolve import resolve_checkpoints, resolve_tasks
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        configure_threads(threads)
        w = Workspace(ws, create=False)
        summary = json.loads(w.summary_file.read_text()) if w.summary_file.exists() else {}
        name = probe or summary.get("best_probe")
        if not name:
            raise ProbecastError(f"{w.summary_file}: no best_probe recorded; pass --probe NAME")
        ckpts = resolve_checkpoints(None, w, checkpoint)
        ckpt = ckpts[-1]
        tasks = resolve_tasks(None, w)
        label_meta = w.label_metadata(ckpt.id, tasks[0].name)
        settings = {k: v for k, v in label_meta["settings"].items() if k in LabelConfig.__dataclass_fields__}
        feat = json.loads(read_features_metadata(w, ckpt.id, tasks[0].name)["settings"])
        feat["layers"] = tuple(feat["layers"]) if feat.get("layers") else None
        max_step = max((r.get("step") or 0) for r in w.read_checkpoints())
        lat = measure_latency(ckpt, tasks, LabelConfig(**settings), ExtractConfig(**feat), load_probe(w.probe_dir(name)),
                              max_step=max_step, repeats=repeats)
        summary["latency_s"], summary["latency_detail"] = latency_summary(lat, name)
        write_json_atomic(w.summary_file, summary)
        Console().print(summary["latency_s"], summary["latency_detail"])
