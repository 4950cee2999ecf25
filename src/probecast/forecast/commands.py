"""`probecast forecast ...`: scaling-law and trajectory forecasters on a long table of training runs."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable, List, Optional

import typer

from probecast import validate as v
from probecast.errors import ProbecastError
from probecast.forecast.choices import AUTO_METHODS, CANDIDATES, FORMS, LOSS_FORMS
from probecast.forecast.cod import cli as cod_cli

forecast_app = typer.Typer(help="Forecast downstream scores from compute, loss and training trajectories.",
                           no_args_is_help=True)

RunsOpt = typer.Option(..., "--runs", callback=v.input_paths, help="Files or folders of training runs (OLMo-ladder CSV, Pythia/lm-eval "
                                            "JSON, long-table CSV/Parquet, probecast workspace).")
ParamsOpt = typer.Option(None, "--params", help="NAME=COUNT parameter counts per run or run prefix, e.g. 190M=190354176.")
ShotsOpt = typer.Option("zero", "--shots", callback=v.one_of("zero", "five", "all"), help="Pythia folders: zero, five or all (five-shot runs are <model>-5shot).")
TpsOpt = typer.Option(None, "--tokens-per-step", callback=v.positive, help="lm-eval sweeps without token counts: tokens = step x this, > 0.")


# `--runs A B C`: click options take one value each, so extra positional words after --runs are its values too.
MULTI = {"allow_extra_args": True}


def _load(ctx: typer.Context, runs: List[Path], params: Optional[List[str]], shots: str,
          tokens_per_step: Optional[float] = None):
    from probecast.forecast.table import load_runs, parse_params

    extra = [a for a in ctx.args]
    if any(a.startswith("-") for a in extra):
        raise ProbecastError(f"unknown option(s) {' '.join(a for a in extra if a.startswith('-'))}")
    try:
        v.input_paths([Path(a) for a in extra])
    except typer.BadParameter as exc:
        raise ProbecastError(f"--runs: {exc.message}") from None
    return load_runs([*runs, *map(Path, extra)], parse_params(params or []), shots=shots,
                     tokens_per_step=tokens_per_step)


@forecast_app.command("table", context_settings=MULTI)
def table_cmd(ctx: typer.Context, runs: List[Path] = RunsOpt, params: Optional[List[str]] = ParamsOpt, shots: str = ShotsOpt,
              tokens_per_step: Optional[float] = TpsOpt,
              out: Optional[Path] = typer.Option(None, "--out", help="Write the long table (.csv or .parquet).",
                                                callback=v.output_file)) -> None:
    """Read runs in any supported format and print (or write) the long table summary."""
    from probecast.ui import console
    from rich.table import Table

    from probecast.io import atomic_path, write_parquet_atomic

    df = _load(ctx, runs, params, shots, tokens_per_step)
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
    console().print(table)


# ---- cross-run forecasts: FLP, FLP-M, model ladder ------------------------------------------------------------
TaskOpt = typer.Option(..., "--task", help="Task as named in the table (hellaswag, arc_easy, piqa, ...).")
TParams = typer.Option(None, "--target-params", help="Target parameters N (e.g. 1.28e9 or 1.3B).")
TTokens = typer.Option(None, "--target-tokens", help="Target training tokens D.")
TFlops = typer.Option(None, "--target-flops", help="Target training compute; default 6*N*D. Give it when the "
                                                    "runs count compute differently (e.g. the OLMo CSVs' FLOPs).")
ExcludeOpt = typer.Option(None, "--exclude", help="Drop runs named (or prefixed NAME-) from the fit, e.g. 1B.")
JsonOpt = typer.Option(False, "--json", help="Print the result as JSON.")
PlotOpt = typer.Option(None, "--plot", callback=v.output_file, help="Write a PNG of the fitted curves and the forecast.")
SaveOpt = typer.Option(None, "--save", callback=v.output_file, help="Also write the JSON result to this file.")
BootOpt = typer.Option(100, "--n-boot", min=0, help="Bootstrap refits for the interval (0: delta method).")
LevelOpt = typer.Option(0.9, "--level", min=0.5, max=0.999, help="Interval coverage.")


def _count(value: Optional[str], where: str) -> Optional[float]:
    from probecast.forecast.table import parse_count

    return None if value is None else parse_count(value, where)


def _cross_run(ctx: typer.Context, method: str, config: dict, runs, params, shots, task, target_params,
               target_tokens, target_flops, exclude, as_json, plot, save) -> None:
    from probecast.forecast.base import Query, get_forecaster
    from probecast.forecast.compare import select_runs

    df = _load(ctx, runs, params, shots)
    if exclude:
        df = df[~df["run"].isin(select_runs(df, exclude))]
    query = Query(params=_count(target_params, "--target-params"), tokens=_count(target_tokens, "--target-tokens"),
                  flops=_count(target_flops, "--target-flops"))
    query.compute  # noqa: B018  (validates that the target is complete and finite before the fit)
    f = get_forecaster(method, task=task, **config).fit(df)
    fc = f.predict(query)
    result = {"method": method, "task": task, "metric": f.score_metric_, "target": query.to_dict(),
              **fc.to_dict(), "level": f.level, "runs": sorted(df["run"].unique()), "fitted": f.fitted_params()}
    if plot is not None:
        from probecast.forecast.plots import plot_two_stage

        plot_two_stage(getattr(f, "primary_", f), query, fc, plot)
        result["plot"] = str(plot)
    _emit(result, as_json, save)


def _emit(result: dict, as_json: bool, save: Optional[Path]) -> None:
    import json

    from probecast.io import _json_default, write_json_atomic

    if save is not None:
        write_json_atomic(save, result)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=_json_default))
        return
    lo, hi = result["interval"]
    typer.echo(f"{result['method']} {result['task']}: predicted {result['predicted']:.4f} "
               f"[{lo:.4f}, {hi:.4f}] for target {result['target']}")
    if result.get("interval_note"):
        typer.echo(f"  interval: {result['interval_note']}")
    for p in result.get("predictions", []):
        actual = "" if p.get("actual") is None else f"  actual {p['actual']:.4f}"
        typer.echo(f"  step {p['step']:>8}  tokens {p['tokens']:.4g}  predicted {p['predicted']:.4f} "
                   f"[{p['interval'][0]:.4f}, {p['interval'][1]:.4f}]{actual}")


def _cross_run_options(runs: List[Path] = RunsOpt, task: str = TaskOpt, target_params: Optional[str] = TParams,
                       target_tokens: Optional[str] = TTokens, target_flops: Optional[str] = TFlops,
                       params: Optional[List[str]] = ParamsOpt, shots: str = ShotsOpt,
                       exclude: Optional[List[str]] = ExcludeOpt, as_json: bool = JsonOpt,
                       plot: Optional[Path] = PlotOpt, save: Optional[Path] = SaveOpt) -> None:
    """The options every cross-run command shares (its signature is all that is used)."""


def cross_run_command(method: str) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register `probecast forecast <method>`: the shared options of `_cross_run_options` plus the decorated
    function's own, which turns its options into the forecaster's config. One place for the shared options
    instead of a copy per command; typer reads the assembled `__signature__`."""

    def decorate(config_of: Callable[..., dict]) -> Callable[..., dict]:
        shared = inspect.signature(_cross_run_options, eval_str=True).parameters
        own = inspect.signature(config_of, eval_str=True).parameters

        def command(ctx: typer.Context, **kw) -> None:
            common = {name: kw.pop(name) for name in shared}
            _cross_run(ctx, method, config_of(**kw), **common)

        ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
        command.__signature__ = inspect.Signature([ctx_param, *shared.values(), *own.values()])  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in command.__signature__.parameters.values()}  # type: ignore[attr-defined]
        command.__doc__ = config_of.__doc__
        forecast_app.command(method, context_settings=MULTI)(command)
        return config_of

    return decorate


@cross_run_command("ladder")
def ladder_cmd(loss_metric: Optional[str] = typer.Option(None, "--loss-metric", help="Task loss (default bpb/<task>)."),
               n_boot: int = BootOpt, level: float = LevelOpt) -> dict:
    """Model ladder (arXiv 2412.04403): task bpb from (N, D), then accuracy from bpb."""
    return dict(loss_metric=loss_metric, n_boot=n_boot, level=level)


@cross_run_command("flp")
def flp_cmd(loss_metric: Optional[str] = typer.Option(None, "--loss-metric", help="Validation loss (default loss/c4_en)."),
            stage2: str = typer.Option("linear", "--stage2", callback=v.one_of("linear", "sigmoid"), help="Loss -> score map: linear (paper) or sigmoid."),
            irreducible: bool = typer.Option(False, "--irreducible", help="Add an irreducible term E to L(C)."),
            n_boot: int = BootOpt, level: float = LevelOpt) -> dict:
    """FLP (arXiv 2410.08527): loss from compute, then score from loss."""
    return dict(loss_metric=loss_metric, stage2=stage2, irreducible=irreducible, n_boot=n_boot, level=level)


@cross_run_command("auto")
def auto_cmd(methods: Optional[List[str]] = typer.Option(None, "--method", callback=v.one_of(*CANDIDATES),
                                                          help=f"Candidate methods (repeat): {', '.join(CANDIDATES)}; "
                                                               f"default {', '.join(AUTO_METHODS)}."),
             n_boot: int = BootOpt, level: float = LevelOpt) -> dict:
    """Per-task ensemble of the cross-run methods, weighted by far-extrapolation backtests inside the fit data."""
    return dict(n_boot=n_boot, level=level, **({"methods": tuple(methods)} if methods else {}))


@cross_run_command("flpm")
def flpm_cmd(domains: Optional[List[str]] = typer.Option(None, "--domain", help="Domain loss (repeat); default all loss/*."),
             hidden: int = typer.Option(4, "--hidden", min=1, help="Hidden units of the two-layer network."),
             n_boot: int = typer.Option(50, "--n-boot", min=0, help="Bootstrap refits for the interval (0: delta method)."),
             level: float = LevelOpt) -> dict:
    """FLP-M: per-domain losses from compute, then a two-layer network from domain losses to score."""
    return dict(domains=list(domains or []), hidden=hidden, n_boot=n_boot, level=level)


# ---- within-run trajectory ------------------------------------------------------------------------------------
@forecast_app.command("trajectory", context_settings=MULTI)
def trajectory_cmd(ctx: typer.Context, runs: List[Path] = RunsOpt, run: str = typer.Option(..., "--run"),
                   task: str = TaskOpt,
                   fit_until_tokens: str = typer.Option(..., "--fit-until-tokens", help="Fit on checkpoints up to here."),
                   form: str = typer.Option("power", "--form", callback=v.one_of(*dict.fromkeys(FORMS + LOSS_FORMS)),
                                            help=f"{', '.join(FORMS)} (against a loss: {', '.join(LOSS_FORMS)})."),
                   x: str = typer.Option("tokens", "--x", help="Fit the score against tokens, flops, step, or a loss "
                                         "metric (e.g. loss/c4_en: later checkpoints are forecast from their loss)."),
                   predict_tokens: Optional[List[str]] = typer.Option(None, "--predict-tokens",
                                                                      help="Extra token counts to forecast."),
                   params: Optional[List[str]] = ParamsOpt, shots: str = ShotsOpt,
                   tokens_per_step: Optional[float] = TpsOpt,
                   n_boot: int = BootOpt, level: float = LevelOpt, as_json: bool = JsonOpt,
                   plot: Optional[Path] = PlotOpt, save: Optional[Path] = SaveOpt) -> None:
    """Forecast every later checkpoint of one run from its checkpoints up to --fit-until-tokens."""
    from probecast.forecast.base import Query, get_forecaster
    from probecast.forecast.table import parse_count, wide

    df = _load(ctx, runs, params, shots, tokens_per_step)
    cut = parse_count(fit_until_tokens, "--fit-until-tokens")
    f = get_forecaster("trajectory", task=task, run=run, form=form, x=x, fit_until=cut, n_boot=n_boot, level=level)
    f.fit(df[df["tokens"] <= cut])
    rest = df[(df["run"] == run) & (df["tokens"] > cut)]
    later = wide(rest, [f.score_metric_]) if (rest["metric"] == f.score_metric_).any() else rest.iloc[:0]
    queries = [(Query(tokens=float(r.tokens), step=int(r.step), flops=r.flops), float(r[f.score_metric_]))
               for _, r in later.iterrows()]
    queries += [(Query(tokens=parse_count(t, "--predict-tokens")), None) for t in predict_tokens or []]
    if x not in ("tokens", "flops", "step"):  # the queried checkpoints' measured loss
        measured = rest[rest["metric"] == x].set_index("step")["value"]
        queries = [(q, a) for q, a in queries if q.step in measured.index]
        for q, _ in queries:
            q.values = {x: float(measured[q.step])}
    if not queries:
        raise ProbecastError(f"run {run}: no checkpoint after {cut:.4g} tokens to forecast"
                             + ("; give --predict-tokens" if x == "tokens" else f" with a measured {x}"))
    predictions = []
    for q, actual in sorted(queries, key=lambda qa: qa[0].tokens):
        fc = f.predict(q)
        predictions.append({"step": q.step, "tokens": q.tokens, "predicted": fc.predicted,
                            "interval": list(fc.interval), "actual": actual, **(q.values or {}),
                            **({"flops": q.flops} if x == "flops" else {})})
    last = predictions[-1]
    result = {"method": "trajectory", "task": task, "metric": f.score_metric_, "form": form,
              "target": {"run": run, "fit_until_tokens": cut, "tokens": last["tokens"], "step": last["step"]},
              "predicted": last["predicted"], "interval": last["interval"], "level": level,
              "predictions": predictions, "fitted": f.fitted_params(),
              **({"interval_note": fc.extras["interval_note"]} if "interval_note" in fc.extras else {})}
    if plot is not None:
        from probecast.forecast.plots import plot_trajectory

        plot_trajectory(f, later if x in ("tokens", "flops", "step") else wide(rest, [f.score_metric_, x]),
                        predictions, plot)
        result["plot"] = str(plot)
    _emit(result, as_json, save)


# ---- compare --------------------------------------------------------------------------------------------------
@forecast_app.command("compare", context_settings=MULTI)
def compare_cmd(ctx: typer.Context, runs: List[Path] = RunsOpt,
                tasks: List[str] = typer.Option(..., "--task", help="Task(s) to forecast (repeat)."),
                holdout: Optional[List[str]] = typer.Option(None, "--holdout", help="Across-run split: forecast the "
                                                            "final checkpoint of these runs (name or NAME- prefix)."),
                fit_until_tokens: Optional[str] = typer.Option(None, "--fit-until-tokens", help="Along-run split: "
                                                               "fit each run up to here, forecast its last checkpoint."),
                run_filter: Optional[List[str]] = typer.Option(None, "--run", help="Along-run split: runs to forecast "
                                                               "(exact names, repeat; default all)."),
                params: Optional[List[str]] = ParamsOpt, shots: str = ShotsOpt,
                n_boot: int = typer.Option(0, "--n-boot", min=0, help="Bootstrap refits (0: delta-method intervals)."),
                as_json: bool = JsonOpt, plot: Optional[Path] = PlotOpt,
                out: Optional[Path] = typer.Option(None, "--out", help="Write every forecast as CSV.", callback=v.output_file)) -> None:
    """Run every method on one split and print a table of errors (points, x100)."""
    import json

    from probecast.ui import console
    from rich.table import Table

    from probecast.forecast.compare import compare_runs, compare_trajectories, mae_table, unforecastable
    from probecast.io import atomic_path

    if (holdout is None) == (fit_until_tokens is None):
        raise ProbecastError("compare: give exactly one split, --holdout RUN... or --fit-until-tokens T")
    df = _load(ctx, runs, params, shots)
    if holdout:
        configs = {m: {"n_boot": n_boot} for m in ("ladder", "flp", "flpm", "auto")}
        res, by = compare_runs(df, holdout, tasks, methods=list(configs), configs=configs), "method"
    else:
        from probecast.forecast.table import parse_count

        have = sorted(df["run"].unique())
        chosen = list(run_filter or have)
        if set(chosen) - set(have):
            raise ProbecastError(f"--run {', '.join(sorted(set(chosen) - set(have)))}: not in the table; runs: "
                                 f"{', '.join(have)}")
        res = compare_trajectories(df, chosen, tasks, parse_count(fit_until_tokens, "--fit-until-tokens"),
                                   n_boot=n_boot)
        by = "form"
    if out is not None:
        with atomic_path(out) as tmp:
            res.to_csv(tmp, index=False)
    if plot is not None:
        from probecast.forecast.plots import plot_compare

        plot_compare(res, by, plot)
    summary = mae_table(res, "task", by)
    flagged = unforecastable(res)
    if as_json:
        typer.echo(json.dumps({"split": "runs" if holdout else "trajectory", "mae_points": json.loads(
            summary.to_json()), "unforecastable": [{"method": m, "task": t} for m, t in flagged],
            "forecasts": json.loads(res.to_json(orient="records"))}, indent=2))
        return
    table = Table(title="mean absolute error, points (lower is better)")
    for col in ["task", *summary.columns]:
        table.add_column(str(col))
    for task, row in summary.iterrows():
        table.add_row(str(task), *("-" if v != v else f"{v:.2f}" for v in row))
    console().print(table)
    for method, task in flagged:
        typer.echo(f"unforecastable: {method} on {task} (its far backtests miss by more than 5 points at this "
                   "distance; the interval says so)")


def register(app: typer.Typer) -> None:
    cod_cli.register(forecast_app)
    app.add_typer(forecast_app, name="forecast")
