"""Acceptance measurements of the forecasters on real public training runs (../shared/data).

1. OLMo ladder: fit ladder / FLP / FLP-M on the 190M-760M runs, forecast the final checkpoint of every 1B run
   (0.5xC ... 10xC and the 1xC rerun) from its N, D and the CSV's own FLOPs; every task.
2. Far extrapolation (`--far`): forecasts as far beyond the fitted runs as a real ladder's target lies. Three
   splits: fit 190M-370M, forecast every 760M and 1B run (2-3.4x in N, up to 13x in compute); fit 190M-760M,
   forecast 1B (1.7x); fit every size up to 2xC, forecast the 5xC and 10xC runs (the budget direction). Per
   method and task: MAE (points) with the 90 % interval coverage beside it, and the error by horizon
   (log distance beyond the fit data, `forecast/reach.py`). Methods: the paper's ladder (five-parameter step 1,
   free sigmoid), our ladder (tied step 1, bounded step 2), FLP (linear, sigmoid) and `auto`.
3. Pythia: fit each run's trajectory on steps <= 13,000, forecast step 143,000 for arc_easy, piqa, sciq,
   lambada_openai, every size; against the naive baselines (last value, linear in log tokens).
   The default form was chosen by a backtest *inside* the fit window (fit <= 3,000 steps, forecast 13,000),
   which this script also prints; the 143k targets are never used for choosing.

    .venv/bin/python benchmarks/forecast_real_data.py [--out benchmarks/out/forecast] [--n-boot 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.forecast.compare import compare_runs, compare_trajectories, mae_table, select_runs
from probecast.forecast.table import load_runs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "checkpoint-evals"
PYTHIA_TOKENS_PER_STEP = 2_097_152
FORMS = ("power", "sigmoid", "pooled", "loglinear", "last")


def show(title: str, df: pd.DataFrame) -> None:
    print(f"\n### {title}\n")
    print(df.round(2).to_markdown() if hasattr(df, "to_markdown") and _has_tabulate() else df.round(2).to_string())


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


def coverage(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of actual scores inside the 90 % interval, and the interval's mean width in points: a coverage
    is only worth as much as the width it takes."""
    ok = df.dropna(subset=["predicted"])
    inside = (ok["actual"] >= ok["lo"]) & (ok["actual"] <= ok["hi"])
    return pd.DataFrame({"coverage": inside.groupby(ok[by]).mean().round(2),
                         "mean width (points)": ((ok["hi"] - ok["lo"]) * 100).groupby(ok[by]).mean().round(1)})


def olmo(n_boot: int, out: Path | None) -> None:
    table = load_runs([DATA / "olmo-ladder"])
    tasks = sorted(m.split("/", 1)[1] for m in table["metric"].unique() if m.startswith("acc/"))
    configs = {"ladder": {"n_boot": n_boot}, "flp": {"n_boot": n_boot},
               "flp-sigmoid": {"method": "flp", "stage2": "sigmoid", "n_boot": n_boot},
               "flpm": {"n_boot": min(n_boot, 20)}}
    res = compare_runs(table, ["1B"], tasks, methods=list(configs), configs=configs)
    if out:
        res.to_csv(out / "olmo_ladder_1B.csv", index=False)
        from probecast.forecast.plots import plot_compare

        plot_compare(res[res["task"].isin(["hellaswag", "arc_easy", "piqa"])], "method", out / "olmo_ladder_1B.png")
    show("OLMo ladder, fit on 190M-760M, forecast 1B final checkpoints: MAE (points) per task, mean over the "
         "six 1B runs", mae_table(res, "task", "method"))
    main3 = res[res["task"].isin(["hellaswag", "arc_easy", "piqa"])]
    show("HellaSwag / ARC-Easy / PIQA: MAE (points) per 1B run", mae_table(main3, "run", "method"))
    signed = main3.assign(err=main3["error"] * 100).pivot_table(index=["task", "run"], columns="method", values="err")
    show("HellaSwag / ARC-Easy / PIQA: signed error (forecast - actual, points)", signed)
    print("\nmean MAE over HellaSwag, ARC-Easy, PIQA x six 1B runs (target <= 3 points):")
    print((main3.groupby("method")["error"].apply(lambda e: e.abs().mean() * 100)).round(2).to_string())
    print("\n90% interval coverage and mean width (all tasks, all 1B runs):")
    print(coverage(res, "method").to_string())
    notes = res.loc[res["note"] != "", ["method", "task", "note"]].drop_duplicates(["method", "task"])
    for _, r in notes.iterrows():
        print(f"  not forecast: {r.method} {r.task}: {r.note}")


FAR_TASKS = ["hellaswag", "arc_easy", "arc_challenge", "piqa", "boolq", "csqa", "openbookqa", "socialiqa", "winogrande"]


def far_splits(table: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """name -> (table of fit + target runs, target runs)."""
    from probecast.forecast.reach import _budgets

    budgets = _budgets(table)
    long_runs = sorted(budgets.index[budgets > 40])
    return {"190M-370M -> 760M, 1B": (table, select_runs(table, ["760M", "1B"])),
            "190M-760M -> 1B": (table, select_runs(table, ["1B"])),
            "<=2xC -> 5xC, 10xC": (table, long_runs)}


def far(n_boot: int, out: Path | None, tasks: list[str]) -> None:
    from probecast.forecast.reach import horizon

    table = load_runs([DATA / "olmo-ladder"])
    configs = {"ladder-paper": {"method": "ladder", "step1": "free", "step2": "free", "n_boot": n_boot},
               "ladder": {"n_boot": n_boot}, "flp": {"n_boot": n_boot},
               "flp-sigmoid": {"method": "flp", "stage2": "sigmoid", "n_boot": n_boot},
               "auto": {"n_boot": n_boot}}
    frames = []
    for name, (tab, targets) in far_splits(table).items():
        res = compare_runs(tab, targets, tasks, methods=list(configs), configs=configs)
        fit = tab[~tab["run"].isin(targets)]
        from probecast.forecast.table import final_rows, wide

        finals = final_rows(wide(fit, ["acc/hellaswag"]))
        per_run = final_rows(wide(tab, ["acc/hellaswag"])).set_index("run")
        res["horizon"] = [horizon(per_run.loc[r, "params"], per_run.loc[r, "flops"], finals, per_run.loc[r, "tokens"])
                          for r in res["run"]]
        frames.append(res.assign(split=name))
    res = pd.concat(frames, ignore_index=True)
    if out:
        res.to_csv(out / "olmo_far.csv", index=False)
    res["inside"] = (res["actual"] >= res["lo"]) & (res["actual"] <= res["hi"])
    res["ae"] = res["error"].abs() * 100
    for name in far_splits(table):
        part = res[res["split"] == name]
        cells = part.groupby(["task", "method"]).agg(mae=("ae", "mean"), cov=("inside", "mean")).reset_index()
        cells["cell"] = [f"{m:.2f} ({c:.0%})" if m == m else "-" for m, c in zip(cells["mae"], cells["cov"])]
        tab = cells.pivot(index="task", columns="method", values="cell")[list(configs)]
        mean = part.groupby("method").agg(mae=("ae", "mean"), cov=("inside", "mean"))
        tab.loc["mean"] = [f"{mean.loc[m, 'mae']:.2f} ({mean.loc[m, 'cov']:.0%})" for m in configs]
        show(f"Far extrapolation, {name}: MAE in points (90 % interval coverage)", tab)
    bins = pd.cut(res["horizon"], [0, 0.4, 0.8, 1.2, 3.0])
    res["width"] = (res["hi"] - res["lo"]) * 100
    by_h = res.groupby([bins, "method"], observed=True).agg(mae=("ae", "mean"), cov=("inside", "mean"),
                                                             width=("width", "mean"), n=("ae", "size")).reset_index()
    by_h["cell"] = [f"{m:.2f} ({c:.0%}, {w:.0f})" for m, c, w in zip(by_h["mae"], by_h["cov"], by_h["width"])]
    show("Far extrapolation, all splits: MAE (coverage, mean 90 % interval width in points) by horizon "
         "(log distance beyond the fit data; counts: " + ", ".join(
             f"{b}: {n}" for b, n in res[res['method'] == 'auto'].groupby(bins, observed=True).size().items()) + ")",
         by_h.pivot(index="horizon", columns="method", values="cell")[list(configs)])
    flagged = res[res["forecastable"] == False]  # noqa: E712
    print("\nforecasts flagged unforecastable (task: share of its auto forecasts, their MAE):")
    for task, part in flagged[flagged["method"] == "auto"].groupby("task"):
        print(f"  {task}: {len(part) / ((res['method'] == 'auto') & (res['task'] == task)).sum():.0%}, "
              f"MAE {part['ae'].mean():.2f}")


def per_cell(res: pd.DataFrame, runs: list[str]) -> pd.DataFrame:
    """One cell per model x task: the actual score, then the absolute errors (points) of power / last / loglinear."""
    err = res.assign(e=res["error"].abs() * 100).pivot_table(index=["run", "task"], columns="form", values="e")
    actual = res.groupby(["run", "task"])["actual"].first()
    cells = {k: f"{actual[k]:.3f} ({v['power']:.1f} / {v['last']:.1f} / {v['loglinear']:.1f})"
             for k, v in err.iterrows()}
    out = pd.Series(cells).unstack()
    return out.loc[[r for r in runs if r in out.index]]


def pythia(n_boot: int, out: Path | None, dedup: bool) -> None:
    table = load_runs([DATA / "pythia"])
    table = table[table["run"].str.contains("deduped") == dedup]
    runs = sorted(table["run"].unique(), key=lambda r: float(table.loc[table["run"] == r, "params"].iloc[0]))
    tasks = ["arc_easy", "piqa", "sciq", "lambada_openai"]
    label = "deduped" if dedup else "standard"
    back = compare_trajectories(table[table["step"] <= 13000], runs, tasks, 3000 * PYTHIA_TOKENS_PER_STEP,
                                target_step=13000, forms=FORMS)
    show(f"Pythia ({label}) backtest inside the fit window: fit <= 3,000 steps, forecast 13,000 (form choice)",
         mae_table(back, "task", "form"))
    res = compare_trajectories(table, runs, tasks, 13000 * PYTHIA_TOKENS_PER_STEP, target_step=143000,
                               forms=FORMS, n_boot=n_boot)
    if out:
        res.to_csv(out / f"pythia_{label}_143k.csv", index=False)
        from probecast.forecast.plots import plot_compare

        plot_compare(res[res["form"].isin(["power", "loglinear", "last"])], "form", out / f"pythia_{label}_143k.png")
    show(f"Pythia ({label}): fit <= 13,000 steps, forecast step 143,000: MAE (points) per task",
         mae_table(res, "task", "form"))
    show(f"Pythia ({label}): MAE (points) per model, mean over the four tasks", mae_table(res, "run", "form"))
    show(f"Pythia ({label}): actual score at 143k and |error| (points) of power / last / loglinear",
         per_cell(res, runs))
    print("\n90% interval coverage and mean width:")
    print(coverage(res, "form").to_string())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="folder for CSVs and PNGs of every forecast")
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--skip-olmo", action="store_true")
    ap.add_argument("--far", action="store_true", help="run only the far-extrapolation backtests")
    ap.add_argument("--tasks", nargs="+", default=FAR_TASKS, help="tasks of the far-extrapolation backtests")
    ap.add_argument("--skip-pythia", action="store_true")
    ap.add_argument("--deduped", action="store_true", help="also run the deduplicated Pythia runs")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found: this benchmark reads the public runs in ../shared/data")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.far:
        far(args.n_boot, args.out, args.tasks)
        print(f"\n(total {time.time() - t0:.0f} s)")
        return
    if not args.skip_olmo:
        olmo(args.n_boot, args.out)
    if not args.skip_pythia:
        pythia(args.n_boot, args.out, dedup=False)
        if args.deduped:
            pythia(args.n_boot, args.out, dedup=True)
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
