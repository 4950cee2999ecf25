"""`probecast forecast ...`: scaling-law and trajectory forecasters on a long table of training runs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

forecast_app = typer.Typer(help="Forecast downstream scores from compute, loss and training trajectories.",
                           no_args_is_help=True)

RunsOpt = typer.Option(..., "--runs", help="Files or folders of training runs (OLMo-ladder CSV, Pythia/lm-eval "
                                            "JSON, long-table CSV/Parquet, probecast workspace).")
ParamsOpt = typer.Option(None, "--params", help="NAME=COUNT parameter counts per run or run prefix, e.g. 190M=190354176.")
ShotsOpt = typer.Option("zero", "--shots", help="Pythia folders: zero, five or all (five-shot runs are <model>-5shot).")


# `--runs A B C`: click options take one value each, so extra positional words after --runs are its values too.
MULTI = {"allow_extra_args": True}


def _load(ctx: typer.Context, runs: List[Path], params: Optional[List[str]], shots: str):
    from probecast.errors import ProbecastError
    from probecast.forecast.table import load_runs, parse_params

    extra = [a for a in ctx.args]
    if any(a.startswith("-") for a in extra):
        raise ProbecastError(f"unknown option(s) {' '.join(a for a in extra if a.startswith('-'))}")
    return load_runs([*runs, *map(Path, extra)], parse_params(params or []), shots=shots)


@forecast_app.command("table", context_settings=MULTI)
def table_cmd(ctx: typer.Context, runs: List[Path] = RunsOpt, params: Optional[List[str]] = ParamsOpt, shots: str = ShotsOpt,
              out: Optional[Path] = typer.Option(None, "--out", help="Write the long table (.csv or .parquet).")) -> None:
    """Read runs in any supported format and print (or write) the long table summary."""
    from rich.console import Console
    from rich.table import Table

    from probecast.io import atomic_path, write_parquet_atomic

    df = _load(ctx, runs, params, shots)
    if out is not None:
        if out.suffix == ".parquet":
            write_parquet_atomic(out, df)
        else:
            with atomic_path(out) as tmp:
                df.to_csv(tmp, index=False)
    summary = df.groupby("run").agg(steps=("step", "nunique"), last_step=("step", "max"),
                                    tokens=("tokens", "max"), params=("params", "first"),
                                    metrics=("metric", "nunique"))
    table = Table(title=f"{len(df)} rows, {df['run'].nunique()} runs")
    for col in ["run", *summary.columns]:
        table.add_column(col)
    for run, row in summary.iterrows():
        table.add_row(run, *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(forecast_app, name="forecast")
    import importlib

    try:
        cod_cli = importlib.import_module("probecast.forecast.cod_cli")
    except ModuleNotFoundError as exc:
        if exc.name != "probecast.forecast.cod_cli":
            raise
    else:
        cod_cli.register(forecast_app)
