"""`probecast forecast cod`: COD (or its end-to-end baseline) on per-question results of a model series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from probecast import validate as v

from probecast.errors import ProbecastError
from probecast.forecast.choices import COD_METHODS
from probecast.forecast.cod.cluster import METHODS as CLUSTERINGS, ClusterConfig  # numpy only: its defaults are the options' defaults
from probecast.forecast.cod.rule import C_PRIOR, PredictableRule  # no scipy: its defaults are the options' defaults

METHODS = COD_METHODS


def cod_cmd(
    runs: List[Path] = typer.Option(..., "--runs", callback=v.input_paths, help="Per-question CSV/Parquet tables (model, params, tokens, "
                                    "flops, task, question_id, n, c) or workspaces, one model each. Repeat the "
                                    "flag or list the paths after it."),
    more_runs: Optional[List[Path]] = typer.Argument(None, hidden=True, callback=v.input_paths),
    task: str = typer.Option(..., "--task", help="Task name as in the table / the workspace labels."),
    target_params: Optional[float] = typer.Option(None, "--target-params", min=1.0, callback=v.finite, help="Target model parameters N."),
    target_tokens: Optional[float] = typer.Option(None, "--target-tokens", min=1.0, callback=v.finite, help="Target training tokens D."),
    target_flops: Optional[float] = typer.Option(None, "--target-flops", min=1.0, callback=v.finite, help="Target compute C (default 6·N·D)."),
    method: str = typer.Option("cod", "--method", callback=v.one_of(*METHODS), help="cod, cod-no-mapping or end-to-end."),
    chance: float = typer.Option(0.0, "--chance", min=0.0, max=0.99, help="Chance level g of the task format (0 for generative)."),
    points: str = typer.Option("final", "--points", callback=v.one_of("final", "all"), help="Workspaces: 'final' checkpoint per run, or 'all'."),
    cluster: str = typer.Option("meanshift", "--cluster", callback=v.one_of(*CLUSTERINGS), help="meanshift (improved), kmeans or dbscan."),
    bandwidth: float = typer.Option(ClusterConfig.bandwidth, "--bandwidth", callback=v.positive, help="MeanShift bandwidth (RMS pass-rate units), > 0."),
    max_radius: float = typer.Option(ClusterConfig.max_radius, "--max-radius", callback=v.positive, help="Cap on a cluster's radius (RMS pass-rate units), > 0."),
    min_cluster_size: int = typer.Option(ClusterConfig.min_size, "--min-cluster-size", min=1, help="Smaller clusters are outliers."),
    n_clusters: int = typer.Option(ClusterConfig.n_clusters, "--n-clusters", min=1, help="K for --cluster kmeans."),
    eps: float = typer.Option(ClusterConfig.eps, "--eps", callback=v.positive, help="Neighbourhood radius for --cluster dbscan (RMS pass-rate units), > 0."),
    min_a: float = typer.Option(PredictableRule.min_a, "--min-a", min=0.0, help="Predictable rule: a > min_a (the paper: 1)."),
    min_b: float = typer.Option(PredictableRule.min_b, "--min-b", min=0.0, help="Predictable rule: b > min_b."),
    max_c: float = typer.Option(PredictableRule.max_c, "--max-c", callback=v.positive, help="Predictable rule: 0 <= c < max_c (the paper: 1); max_c > 0."),
    outliers: str = typer.Option("nearest", "--outliers", callback=v.one_of("nearest", "mapping"), help="Outlier questions count "
                                 "with their 'nearest' cluster, or are left to the 'mapping' (the paper)."),
    shared_b: bool = typer.Option(True, "--shared-b/--no-shared-b", help="Shrink each cluster's exponent b towards "
                                  "the task's pooled b, by how poorly its own points determine it (cod.shrink)."),
    refine: bool = typer.Option(True, "--refine/--no-refine", help="After clustering, move each question to the "
                                "cluster whose pooled curve makes its binomial counts likeliest (cod.refine)."),
    c_prior: float = typer.Option(C_PRIOR, "--c-prior", min=0.0, help="Pull of each cluster law's irreducible c "
                                  "towards 0 (a residual c_prior·c; 0.03 was the default before issue 18 item 4's "
                                  "re-choice, 0 lets an emergent cluster run away)."),
    mapping_degree: int = typer.Option(4, "--mapping-degree", min=2, max=9, help="Degree of the monotone mapping (4 = quartic)."),
    n_boot: int = typer.Option(200, "--n-boot", min=1, help="Bootstrap replicates over questions for the interval."),
    level: float = typer.Option(0.9, "--level", min=0.5, max=0.999, help="Interval coverage."),
    actual: Optional[List[Path]] = typer.Option(None, "--actual", callback=v.input_paths, help="The target model's own per-question "
                                                "results (CSV or workspace): adds `actual` and `abs_error`."),
    out: Path = typer.Option(Path("forecasts"), "--out", callback=v.output_dir, help="Folder for the JSON, cluster table and plot."),
    as_json: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    seed: int = typer.Option(0, "--seed", min=0),
) -> None:
    """Forecast a task score at a target compute with Clustering-On-Difficulty (arXiv 2502.17262)."""
    from probecast.ui import console as make_console

    from probecast.forecast.base import Query
    from probecast.forecast.cod.forecaster import CODForecaster, EndToEndForecaster
    from probecast.forecast.cod.data import load_questions, load_target_score, question_matrix
    from probecast.forecast.cod.plot import plot_cod
    from probecast.io import atomic_path, write_json_atomic
    from probecast.workspace import safe_name

    if method not in METHODS:
        raise ProbecastError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    query = Query(params=target_params, tokens=target_tokens, flops=target_flops)
    target_compute = query.compute  # complete and finite, or one error line
    paths = list(runs) + list(more_runs or [])
    matrix = question_matrix(load_questions(paths, task, points), task, source=", ".join(map(str, paths)))
    if target_compute <= matrix.compute[-1]:
        raise ProbecastError(f"target compute {target_compute:.3g} is not above the largest fitted model "
                             f"({matrix.compute[-1]:.3g}); COD extrapolates to a larger model")
    if method == "end-to-end":
        model = EndToEndForecaster(task=task, chance=chance, n_boot=n_boot, level=level, seed=seed)
    else:
        model = CODForecaster(
            task=task, chance=chance, use_mapping=method == "cod", n_boot=n_boot, level=level, seed=seed,
            progress=not as_json,
            cluster=ClusterConfig(method=cluster, bandwidth=bandwidth, max_radius=max_radius,
                                  min_size=min_cluster_size, n_clusters=n_clusters, eps=eps, seed=seed),
            rule=PredictableRule(min_a=min_a, min_b=min_b, max_c=max_c), mapping_degree=mapping_degree,
            count_outliers=outliers == "nearest", shared_b=shared_b, refine=refine, c_prior=c_prior)
    model.fit_matrix(matrix)
    forecast = model.predict(query)
    result = {"method": method, "task": task, "target": query.to_dict(), **forecast.to_dict()}
    if actual:
        result["actual"] = load_target_score(actual, task)
        result["abs_error"] = abs(result["predicted"] - result["actual"])
    result["config"] = {k: v for k, v in model.get_params().items() if k != "progress"}

    stem = f"cod_{safe_name(task)}_{method}"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / f"{stem}.json", result)
    if method != "end-to-end":
        import pandas as pd

        with atomic_path(out / f"{stem}_clusters.csv") as tmp:
            pd.DataFrame(result["clusters"]).to_csv(tmp, index=False)
        plot_cod(model.curves(), target_compute, forecast.predicted, forecast.interval, out / f"{stem}.png",
                 title=f"COD on {task}: {len(matrix.models)} models, {len(matrix.question_ids)} questions")
    if as_json:
        print(json.dumps(result, indent=2, default=float))
        return
    console = make_console()
    lo, hi = forecast.interval
    console.print(f"[bold]{method}[/] {task} at C={target_compute:.3g}: {forecast.predicted:.4f} "
                  f"[{lo:.4f}, {hi:.4f}]" + (f"  actual {result['actual']:.4f}" if actual else ""))
    if method != "end-to-end":
        from rich.table import Table

        table = Table("cluster", "size", "a", "b", "c", "rmse", "predictable", "predicted")
        for row in result["clusters"]:
            table.add_row(str(row["cluster"]), str(row["size"]), f"{row['a']:.3g}", f"{row['b']:.3g}",
                          f"{row['c']:.3g}", f"{row['rmse']:.3f}", row["reason"], f"{row['predicted']:.3f}")
        console.print(table)
    console.print(f"wrote {out / stem}.json")


def cod_compare_cmd(
    runs: List[Path] = typer.Option(..., "--runs", callback=v.input_paths, help="The whole series, target included: per-question tables or "
                                    "workspaces. The model with the most compute is held out and forecast."),
    more_runs: Optional[List[Path]] = typer.Argument(None, hidden=True, callback=v.input_paths),
    tasks: List[str] = typer.Option(..., "--task", help="Task(s) to backtest; repeat the flag for several."),
    chance: float = typer.Option(0.0, "--chance", min=0.0, max=0.99, help="Chance level g of the tasks' format."),
    points: str = typer.Option("final", "--points", callback=v.one_of("final", "all"), help="Workspaces: 'final' checkpoint per run, or 'all'."),
    min_cluster_size: int = typer.Option(ClusterConfig.min_size, "--min-cluster-size", min=1),
    n_boot: int = typer.Option(200, "--n-boot", min=1),
    out: Path = typer.Option(Path("forecasts"), "--out", callback=v.output_dir, help="Folder for cod_compare.csv/.json."),
    seed: int = typer.Option(0, "--seed", min=0),
) -> None:
    """Backtest: forecast the largest model of a series with COD, COD without mapping, and end-to-end."""
    import pandas as pd
    from probecast.ui import console as make_console
    from rich.table import Table

    from probecast.forecast.cod.forecaster import CODForecaster, EndToEndForecaster
    from probecast.forecast.cod.data import load_questions
    from probecast.forecast.cod.eval import compare_methods
    from probecast.io import atomic_path, write_json_atomic

    paths = list(runs) + list(more_runs or [])
    source = ", ".join(map(str, paths))
    frames = []
    for task in tasks:
        df = load_questions(paths, task, points)
        cod = CODForecaster(chance=chance, n_boot=n_boot, seed=seed,
                            cluster=ClusterConfig(min_size=min_cluster_size, seed=seed))
        frames.append(compare_methods(df, task, cod, EndToEndForecaster(chance=chance, n_boot=n_boot, seed=seed),
                                      source))
    result = pd.concat(frames, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "cod_compare.csv") as tmp:
        result.to_csv(tmp, index=False)
    write_json_atomic(out / "cod_compare.json", result.to_dict(orient="records"))
    table = Table("task", "method", "target", "fit models", "predicted", "interval", "actual", "abs error")
    for r in result.itertuples(index=False):
        ok = r.predicted == r.predicted  # not NaN
        table.add_row(r.task, r.method, r.target, str(r.fit_models), f"{r.predicted:.4f}" if ok else "n/a",
                      f"[{r.interval_low:.3f}, {r.interval_high:.3f}]" if ok else r.note[:60],
                      f"{r.actual:.4f}", f"{r.abs_error:.4f}" if ok else "n/a")
    console = make_console()
    console.print(table)
    both = result.pivot(index="task", columns="method", values="abs_error").dropna()
    console.print(f"mean abs error over all tasks where every method forecasts ({len(both)} of {len(tasks)}): "
                  + ", ".join(f"{m} {both[m].mean():.4f}" for m in both.columns))


def register(forecast_app: typer.Typer) -> None:
    forecast_app.command("cod")(cod_cmd)
    forecast_app.command("cod-compare")(cod_compare_cmd)
