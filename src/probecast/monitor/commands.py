"""CLI: `probecast watch`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast import validate as v
from probecast.executors.options import RAY, RAY_CPUS, RAY_GPUS, RAY_RETRIES
from probecast.features.options import SHARED_PREFIX
from probecast.labels.backends import BACKENDS
from probecast.lock import writes_workspace
from probecast.monitor.completeness import MARKERS
from probecast.monitor.sinks import SINKS
from probecast.monitor.trackers import TRACKERS


def register(app: typer.Typer) -> None:
    @app.command("watch")
    @writes_workspace("watch", create=False)
    def watch_cmd(
        run_dir: Path = typer.Argument(..., help="The folder a training run writes its checkpoints into.",
                                       callback=v.input_path),
        ws: Path = typer.Option(..., "--ws", help="Workspace with the fitted probe (and where results go).",
                                callback=v.workspace_in),
        probe: str = typer.Option(..., "--probe", help="Fitted probe: its name in W/probes/ (summary.json "
                                  "best_probe) or a probe directory."),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Task spec (default: the workspace's tasks)."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Questions per task with --tasks."),
        interval: float = typer.Option(30.0, "--interval", min=0.0, help="Seconds between polls."),
        once: bool = typer.Option(False, "--once", help="Process the checkpoints that are complete now, then exit."),
        settle: float = typer.Option(2.0, "--settle", min=0.0, help="With --once: seconds between the two looks that "
                                     "establish that files are stable."),
        marker: str = typer.Option("auto", "--marker", callback=v.one_of(*MARKERS), help="Completion marker: auto, trainer_state, latest, "
                                   "glob, none (stability only)."),
        ready_glob: Optional[str] = typer.Option(None, "--ready-glob", help="A pattern inside the checkpoint "
                                                 "folder that must exist (implies --marker glob)."),
        sinks: str = typer.Option("tensorboard", "--sinks", callback=v.one_of(*SINKS, "auto", sep=","),
                                  help=f"Comma-separated trackers besides JSONL: {', '.join(TRACKERS)}, auto (every "
                                       "installed one), or jsonl (JSONL only)."),
        run_name: Optional[str] = typer.Option(None, "--run-name", help="Run name in the trackers "
                                               "(default: the run folder's name)."),
        audit_every: int = typer.Option(0, "--audit-every", min=0, help="Every Mth checkpoint also gets real generative "
                                        "labels on a random subset (0 = never)."),
        audit_questions: int = typer.Option(16, "--audit-questions", min=1, help="Questions per task in an audit."),
        audit_backend: str = typer.Option("hf", "--audit-backend", help="Engine of the audits: hf or vllm "
                                          "(one vLLM engine per audited checkpoint).", callback=v.one_of(*BACKENDS)),
        audit_half_width: Optional[float] = typer.Option(None, "--audit-half-width", min=0.0, max=1.0, help="Instead of a fixed number: label until "
                                                         "the 90% PPI interval's half-width is at most this "
                                                         "(e.g. 0.05; pilot 16, then rounds of 8)."),
        refit_on_drift: bool = typer.Option(False, "--refit-on-drift", help="When a CUSUM on the audit residuals "
                                            "signals drift, refit the probe on every label (audits included), "
                                            "save it as a new version and switch to it (needs --audit-every)."),
        n_boot: int = typer.Option(1000, "--n-boot", min=1, help="Bootstrap replicates for the interval."),
        shared_prefix: bool = SHARED_PREFIX,
        max_polls: Optional[int] = typer.Option(None, "--max-polls", min=1, help="Stop after N polls (default: never)."),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
        ray: Optional[str] = RAY,
        ray_cpus: float = RAY_CPUS,
        ray_gpus: Optional[float] = RAY_GPUS,
        ray_retries: int = RAY_RETRIES,
    ) -> None:
        """Follow RUN_DIR while it trains: each new complete checkpoint -> features -> predicted task scores
        with intervals -> W/monitor/predictions.jsonl and the trackers. Restartable; Ctrl-C stops cleanly."""
        from probecast.errors import ProbecastError
        from probecast.executors import open_executor
        from probecast.executors.options import ray_options
        from probecast.monitor.audit import AuditConfig
        from probecast.monitor.completeness import ReadyRule
        from probecast.monitor.evaluator import Monitor, MonitorConfig
        from probecast.monitor.watcher import WatchConfig, Watcher
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        ray_opts = ray_options(ray, ray_cpus, ray_gpus, ray_retries)  # checked before any work
        if audit_half_width is not None and not 0 < audit_half_width < 1:
            raise ProbecastError(f"--audit-half-width {audit_half_width}: must be in (0, 1), e.g. 0.05")
        if refit_on_drift and audit_every <= 0:
            raise ProbecastError("--refit-on-drift: the drift test reads audits; give --audit-every M (e.g. 2)")
        configure_threads(threads)
        w = Workspace(ws, create=False)
        cfg = MonitorConfig(probe=probe, tasks=tasks, limit=limit, sinks=tuple(sinks.split(",")),
                            run_name=run_name or run_dir.resolve().name, n_boot=n_boot, save_features=True,
                            audit=AuditConfig(every=audit_every, questions=audit_questions,
                                              backend=audit_backend, half_width=audit_half_width),
                            refit_on_drift=refit_on_drift, shared_prefix=shared_prefix)
        rule = ReadyRule(marker="glob" if ready_glob and marker == "auto" else marker, glob=ready_glob)
        with open_executor(ray_opts) as executor:
            watcher = Watcher(Monitor(w, cfg), run_dir, WatchConfig(interval=interval, once=once, settle=settle,
                                                                    rule=rule, max_polls=max_polls),
                              executor=executor)
            n = watcher.run()
        watcher.say(f"evaluated {n} checkpoint(s) now, {watcher.state.n_done()} in total -> "
                    f"{w.monitor_dir / 'predictions.jsonl'}")
