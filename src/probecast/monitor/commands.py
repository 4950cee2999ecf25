"""CLI: `probecast watch`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast.lock import writes_workspace


def register(app: typer.Typer) -> None:
    @app.command("watch")
    @writes_workspace("watch", create=False)
    def watch_cmd(
        run_dir: Path = typer.Argument(..., help="The folder a training run writes its checkpoints into."),
        ws: Path = typer.Option(..., "--ws", help="Workspace with the fitted probe (and where results go)."),
        probe: str = typer.Option(..., "--probe", help="Fitted probe: its name in W/probes/ (summary.json "
                                  "best_probe) or a probe directory."),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="Task spec (default: the workspace's tasks)."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Questions per task with --tasks."),
        interval: float = typer.Option(30.0, "--interval", help="Seconds between polls."),
        once: bool = typer.Option(False, "--once", help="Process the checkpoints that are complete now, then exit."),
        settle: float = typer.Option(2.0, "--settle", help="With --once: seconds between the two looks that "
                                     "establish that files are stable."),
        marker: str = typer.Option("auto", "--marker", help="Completion marker: auto, trainer_state, latest, "
                                   "glob, none (stability only)."),
        ready_glob: Optional[str] = typer.Option(None, "--ready-glob", help="A pattern inside the checkpoint "
                                                 "folder that must exist (implies --marker glob)."),
        sinks: str = typer.Option("tensorboard", "--sinks", help="Comma-separated trackers besides JSONL: "
                                  "tensorboard, wandb, mlflow, auto (every installed one), or jsonl (JSONL only)."),
        run_name: Optional[str] = typer.Option(None, "--run-name", help="Run name in the trackers "
                                               "(default: the run folder's name)."),
        audit_every: int = typer.Option(0, "--audit-every", help="Every Mth checkpoint also gets real generative "
                                        "labels on a random subset (0 = never)."),
        audit_questions: int = typer.Option(16, "--audit-questions", help="Questions per task in an audit."),
        n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates for the interval."),
        max_polls: Optional[int] = typer.Option(None, "--max-polls", help="Stop after N polls (default: never)."),
        threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: all cores)."),
    ) -> None:
        """Follow RUN_DIR while it trains: each new complete checkpoint -> features -> predicted task scores
        with intervals -> W/monitor/predictions.jsonl and the trackers. Restartable; Ctrl-C stops cleanly."""
        from probecast.monitor.audit import AuditConfig
        from probecast.monitor.completeness import ReadyRule
        from probecast.monitor.evaluator import Monitor, MonitorConfig
        from probecast.monitor.watcher import WatchConfig, Watcher
        from probecast.runtime import configure_threads
        from probecast.workspace import Workspace

        configure_threads(threads)
        w = Workspace(ws, create=False)
        cfg = MonitorConfig(probe=probe, tasks=tasks, limit=limit, sinks=tuple(sinks.split(",")),
                            run_name=run_name or run_dir.resolve().name, n_boot=n_boot, save_features=True,
                            audit=AuditConfig(every=audit_every, questions=audit_questions))
        rule = ReadyRule(marker="glob" if ready_glob and marker == "auto" else marker, glob=ready_glob)
        watcher = Watcher(Monitor(w, cfg), run_dir, WatchConfig(interval=interval, once=once, settle=settle,
                                                                rule=rule, max_polls=max_polls))
        n = watcher.run()
        watcher.say(f"evaluated {n} checkpoint(s) now, {watcher.state.n_done()} in total -> "
                    f"{w.monitor_dir / 'predictions.jsonl'}")
