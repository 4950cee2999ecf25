"""CLI: `probecast extract`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast import validate as v
from probecast.executors.options import RAY, RAY_CPUS, RAY_GPUS, RAY_RETRIES
from probecast.features.options import SHARED_PREFIX
from probecast.labels.backends import BACKENDS
from probecast.lock import writes_workspace


def register(app: typer.Typer) -> None:
    register_latency(app)

    @app.command("extract")
    @writes_workspace("extract")
    def extract_cmd(
        source: Optional[str] = typer.Argument(None, help="Run folder / checkpoint (default: the workspace's checkpoints)."),
        ws: Path = typer.Option(..., "--ws", help="Workspace folder.", callback=v.workspace_out),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Default: the tasks the workspace's labels used."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1),
        layers: Optional[str] = typer.Option(None, "--layers", help="Comma-separated hidden_states indices (default: all).",
                                              callback=v.layer_list),
        tail_tokens: int = typer.Option(8, "--tail-tokens", min=0, help="Keep the last T prompt-token states (0 = off)."),
        dtype: str = typer.Option("float16", "--store-dtype", help="float16 or float32 storage.",
                                   callback=v.one_of("float16", "float32")),
        batch_size: int = typer.Option(32, "--batch-size", min=1, help="At most this many rows per prefill pass."),
        batch_tokens: int = typer.Option(4096, "--batch-tokens", min=0, help="... and at most this many padded tokens "
                                         "(rows x the longest); 0 = no token limit."),
        checkpoints: Optional[str] = typer.Option(None, "--checkpoints"),
        threads: Optional[int] = typer.Option(None, "--threads", min=1),
        shared_prefix: bool = SHARED_PREFIX,
        force: bool = typer.Option(False, "--force", help="Re-extract the (checkpoint, task) pairs extracted with "
                                   "other settings (layers, tail tokens, storage dtype, questions), replacing them."),
        ray: Optional[str] = RAY,
        ray_cpus: float = RAY_CPUS,
        ray_gpus: Optional[float] = RAY_GPUS,
        ray_retries: int = RAY_RETRIES,
    ) -> None:
        """One prefill pass per checkpoint × task: pooled hidden states + answer log-likelihood → W/features/.
        Pairs already extracted with the same settings are skipped; with other settings, an error names them."""
        from probecast.ui import console

        from probecast.executors import open_executor
        from probecast.executors.options import ray_options
        from probecast.features.extract import ExtractConfig
        from probecast.features.workspace_features import extract_workspace
        from probecast.identity import feature_differences, stale_results
        from probecast.resolve import record_checkpoints, resolve_checkpoints, resolve_tasks
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        ray_opts = ray_options(ray, ray_cpus, ray_gpus, ray_retries)  # checked before any work
        configure_threads(threads)
        w = Workspace(ws)
        task_list = resolve_tasks(tasks, w, limit)  # read and checked before any checkpoint is recorded
        ckpts = resolve_checkpoints(source, w, checkpoints)
        cfg = ExtractConfig(layers=tuple(int(x) for x in layers.split(",")) if layers else None,
                            tail_tokens=tail_tokens, dtype=dtype, batch_size=batch_size,
                            batch_tokens=batch_tokens or None)
        has = lambda c, t: w.features_path(c, t).exists()  # noqa: E731
        redo = stale_results(ckpts, task_list, has, lambda c, t: feature_differences(w, c, t, cfg),
                             w.features_path, force, "re-extract")
        try:
            with open_executor(ray_opts) as executor:
                n = extract_workspace(w, ckpts, task_list, cfg, executor=executor, redo=redo,
                                      shared_prefix=shared_prefix)
        finally:
            record_checkpoints(w, ckpts, task_list, has)
        console().print(f"[green]extracted {n} checkpoint × task blocks[/] into {w.root / 'features'}")


def register_latency(app: typer.Typer) -> None:
    @app.command("latency")
    @writes_workspace("latency", create=False)
    def latency_cmd(
        ws: Path = typer.Option(..., "--ws", help="Workspace with labels, features and a fitted probe.",
                                callback=v.workspace_in),
        probe: Optional[str] = typer.Option(None, "--probe", help="Fitted probe (default: summary.json best_probe)."),
        checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Checkpoint id (default: the last)."),
        repeats: int = typer.Option(3, "--repeats", min=1),
        samples: Optional[int] = typer.Option(None, "--samples", min=1, help="Generations per question on the "
                                              "generative side (default: the labels' own)."),
        threads: Optional[int] = typer.Option(None, "--threads", min=1),
        backend: str = typer.Option("hf", "--backend", help="Also time generative labelling with this engine: "
                                    "vllm adds latency_s.generative_vllm (engine start included) beside the HF "
                                    "`generative`.", callback=v.one_of(*BACKENDS)),
        ray: Optional[str] = RAY,
        ray_cpus: float = RAY_CPUS,
        ray_gpus: Optional[float] = RAY_GPUS,
        ray_retries: int = RAY_RETRIES,
    ) -> None:
        """Wall time of generative labelling vs probe vs bare prefill on one checkpoint → summary.json latency_s."""
        import json

        from probecast.ui import console

        from probecast.errors import ProbecastError
        from probecast.executors import call, open_executor
        from probecast.executors.options import ray_options
        from probecast.features.extract import ExtractConfig
        from probecast.features.latency import describe, latency_summary, measure_latency
        from probecast.features.store import read_features_metadata
        from probecast.io import write_json_atomic
        from probecast.labels.label import LabelConfig
        from probecast.pipeline import portable
        from probecast.probes.base import load_probe
        from probecast.resolve import resolve_checkpoints, resolve_tasks
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        ray_opts = ray_options(ray, ray_cpus, ray_gpus, ray_retries)
        configure_threads(threads)
        w = Workspace(ws, create=False)
        summary = w.read_summary()
        name = probe or summary.get("best_probe")
        if not name:
            raise ProbecastError(f"{w.summary_file}: no best_probe recorded; pass --probe NAME")
        tasks = resolve_tasks(None, w)
        ckpt = resolve_checkpoints(None, w, checkpoint, option="--checkpoint")[-1]
        label_meta = w.label_metadata(ckpt.id, tasks[0].name)
        settings = {k: v for k, v in label_meta["settings"].items() if k in LabelConfig.__dataclass_fields__}
        if samples:
            settings["samples"] = samples
        feat = json.loads(read_features_metadata(w, ckpt.id, tasks[0].name)["settings"])
        feat["layers"] = tuple(feat["layers"]) if feat.get("layers") else None
        max_step = max((r.get("step") or 0) for r in w.read_checkpoints())
        with open_executor(ray_opts) as executor:  # measured where it runs
            lat = call(executor, measure_latency, portable(ckpt), tasks, LabelConfig(**settings), ExtractConfig(**feat),
                       load_probe(w.probe_dir(name)), max_step, repeats, 1, tuple(dict.fromkeys(("hf", backend))),
                       label_meta.get("dtype", "float32"))  # labels written before dtypes were recorded: float32
        summary["latency_s"], summary["latency_detail"] = latency_summary(lat, name)
        summary["latency_detail"]["measured_on"] = executor.where
        write_json_atomic(w.summary_file, summary)
        console().print(describe(summary["latency_s"], summary["latency_detail"]))
