"""CLI: `probecast label`."""

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
    @app.command("label")
    @writes_workspace("label")
    def label_cmd(
        source: Optional[str] = typer.Argument(None, help="Run folder / checkpoint / .gguf / hub id (default: the workspace's checkpoints)."),
        ws: Path = typer.Option(..., "--ws", help="Workspace folder for the results.", callback=v.workspace_out),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Tasks: synthetic, add,copy, gsm8k, piqa, FILE.jsonl (default: the workspace's)."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many questions per task."),
        samples: int = typer.Option(4, "--samples", min=1, help="Sampled completions per question (n)."),
        temperature: float = typer.Option(1.0, "--temperature", min=0.0),
        top_p: float = typer.Option(1.0, "--top-p", max=1.0, callback=v.positive,
                                   help="Nucleus sampling: the smallest set of tokens with this much probability, > 0."),
        max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1, help="Default: the task's own."),
        greedy: bool = typer.Option(True, "--greedy/--no-greedy", help="Also decode one greedy completion."),
        batch_size: int = typer.Option(64, "--batch-size", min=1),
        checkpoints: Optional[str] = typer.Option(None, "--checkpoints", help="Only these checkpoint ids/steps."),
        dtype: str = typer.Option("float32", "--dtype", callback=v.one_of("float32", "float16", "bfloat16")),
        threads: Optional[int] = typer.Option(None, "--threads", min=1),
        seed: int = typer.Option(0, "--seed", min=0),
        backend: str = typer.Option("hf", "--backend", help="Labelling engine: hf (transformers) or vllm "
                                    "(`make vllm`; one engine per checkpoint).", callback=v.one_of(*BACKENDS)),
        shared_prefix: bool = SHARED_PREFIX,
        force: bool = typer.Option(False, "--force", help="Relabel the (checkpoint, task) pairs labelled with "
                                   "other settings (samples, temperature, limit, ...), replacing them."),
        ray: Optional[str] = RAY,
        ray_cpus: float = RAY_CPUS,
        ray_gpus: Optional[float] = RAY_GPUS,
        ray_retries: int = RAY_RETRIES,
    ) -> None:
        """Label questions by real generative evaluation (pass@1 per question) → W/labels/. Pairs already
        labelled with the same settings are skipped; with other settings, an error names them (or --force)."""
        from probecast.ui import console

        from probecast.executors import open_executor
        from probecast.executors.options import ray_options
        from probecast.labels.label import LabelConfig
        from probecast.labels.workspace_labels import label_workspace, label_table
        from probecast.identity import label_differences, stale_results
        from probecast.resolve import plan_tasks, record_checkpoints, remember_tasks, resolve_checkpoints
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        ray_opts = ray_options(ray, ray_cpus, ray_gpus, ray_retries)  # checked before any work
        configure_threads(threads)
        w = Workspace(ws)
        task_list, entries = plan_tasks(tasks, w, limit, force=force)  # every input checked before anything is recorded
        ckpts = resolve_checkpoints(source, w, checkpoints)
        cfg = LabelConfig(samples=samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                          greedy=greedy, batch_size=batch_size, seed=seed)
        redo = stale_results(ckpts, task_list, w.has_labels, lambda c, t: label_differences(w, c, t, cfg),
                             w.labels_path, force, "relabel")
        remember_tasks(w, entries)
        try:
            with open_executor(ray_opts) as executor:
                label_workspace(w, ckpts, task_list, cfg, dtype=dtype, executor=executor, backend=backend, redo=redo,
                                shared_prefix=shared_prefix)
        finally:
            record_checkpoints(w, ckpts, task_list, w.has_labels)
        console().print(label_table(w, ckpts, task_list))
