"""`probecast dynamics`: task correlation, leave-one-task-out prediction and cross-domain lead/lag."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from probecast import validate as v


def dynamics_cmd(
    runs: List[Path] = typer.Option(..., "--runs", callback=v.input_paths, help="Per-checkpoint scores: Pythia folders, OLMo-ladder CSVs, "
                                    "lm-eval sweeps, long tables, workspaces. Repeat the flag or list the paths after it."),
    more_runs: Optional[List[Path]] = typer.Argument(None, hidden=True, callback=v.input_paths),
    out: Path = typer.Option(..., "--out", help="Folder for report.md/report.html, plots and CSV tables.",
                              callback=v.output_dir),
    metric: str = typer.Option("acc", "--metric", help="Score metric prefix in the long table (acc, acc_norm, ...)."),
    shots: str = typer.Option("zero", "--shots", callback=v.one_of("zero", "five"),
                             help="Pythia folders: zero or five (a run per model)."),
    params: Optional[List[str]] = typer.Option(None, "--params", help="NAME=COUNT parameter counts per run."),
    domains: Optional[Path] = typer.Option(None, "--domains", callback=v.input_file, help="JSON {task: domain} overriding the built-in grouping."),
    split: str = typer.Option("auto", "--split", callback=v.one_of("run", "time", "auto"), help="Leave-one-task-out split: run (leave one run out), time, auto."),
    train_fraction: float = typer.Option(0.5, "--train-fraction", min=0.05, max=0.95, help="--split time: checkpoints fitted on."),
    min_gain: float = typer.Option(0.02, "--min-gain", min=0.0, max=1.0, help="Lead/lag: least gain for a domain to have a t50."),
    n_boot: int = typer.Option(500, "--n-boot", min=1, help="Lead/lag bootstrap replicates."),
    seed: int = typer.Option(0, "--seed", min=0),
) -> None:
    """Task dynamics across checkpoints ("The Fine Line", arXiv 2404.01204): Markdown + HTML report with plots."""
    from probecast.dynamics.analysis import DynamicsConfig, run_dynamics
    from probecast.dynamics.domains import read_overrides, workspace_domains
    from probecast.dynamics.leadlag import LeadLagConfig
    from probecast.dynamics.predict import LotoConfig
    from probecast.dynamics.scores import score_matrix
    from probecast.forecast.table import load_runs, parse_params
    from probecast.ui import console as make_console

    paths = list(runs) + list(more_runs or [])
    if shots not in ("zero", "five"):
        from probecast.errors import ProbecastError

        raise ProbecastError(f"--shots {shots!r}: expected zero or five (runs must share one evaluation setting)")
    console = make_console(stderr=True)
    with console.status("reading runs"):
        long = load_runs(paths, parse_params(params or []), shots=shots)
    overrides = {k: v for p in paths for k, v in workspace_domains(p).items()}
    overrides.update(read_overrides(domains))
    sm = score_matrix(long, metric, overrides)
    cfg = DynamicsConfig(metric, LotoConfig(split, train_fraction), LeadLagConfig(min_gain, n_boot, seed=seed))
    result = run_dynamics(sm, out, cfg, [str(p) for p in paths])
    summary = result["summary"]
    if summary is None:
        console.print("no domain has two or more tasks: leave-one-task-out skipped (see the report)")
    else:
        console.print(f"{result['runs']} runs, {result['tasks']} tasks; leave-one-task-out MAE "
                      f"(regression / mean of domain / scaled mean):")
        for row in summary.itertuples(index=False):
            console.print(f"  {row.domain:<26} {row.tasks:>3} tasks  {row.mae_regression:.4f} / "
                          f"{row.mae_mean_of_domain:.4f} / {row.mae_scaled_mean:.4f}")
    console.print(f"wrote {result['report_md']} and {result['report_html']}")


def register(app: typer.Typer) -> None:
    app.command("dynamics")(dynamics_cmd)
