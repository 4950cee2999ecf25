"""Interval coverage of COD and its end-to-end baseline on planted series, with and without the backtest widening.

The measured COD series of the README (toy models trained for it) is not in ../shared/data, so coverage is
measured on generated series instead: per seed, four difficulty clusters with random laws
y = exp(-a C^-b - c) (a log-uniform in [0.3, 30], b in [0.4, 0.9], c in [0, 0.1]), 60 questions each, plus 15
random-curve outliers, 9 models doubling in compute, 100 samples per question. Every method is fitted on the 8
smaller models and forecasts the 9th (`cod.eval.compare_methods`), once with the question bootstrap alone
(`calibrate=False`) and once widened by the leave-largest-models-out backtest. The point forecasts are the same.

    .venv/bin/python benchmarks/forecast_cod_planted.py [--seeds 20] [--n-boot 100] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import track

from probecast.forecast.cod.forecaster import CODForecaster, EndToEndForecaster
from probecast.forecast.cod.eval import compare_methods
from probecast.forecast.cod.synthetic import PlantedSeries

COMPUTE = [1e17 * 2.0 ** i for i in range(9)]


def planted(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    laws = [(float(np.exp(rng.uniform(np.log(0.3), np.log(30)))), float(rng.uniform(0.4, 0.9)),
             float(rng.uniform(0, 0.1))) for _ in range(4)]
    return PlantedSeries(laws=laws, n_outliers=15, compute=COMPUTE, seed=seed).rows()[0]


def run(seeds: int, n_boot: int) -> pd.DataFrame:
    frames = []
    for seed in track(range(seeds), description="planted series"):
        df = planted(seed)
        for calibrate in (False, True):
            res = compare_methods(df, "synthetic", CODForecaster(n_boot=n_boot, calibrate=calibrate),
                                  EndToEndForecaster(n_boot=n_boot, calibrate=calibrate))
            frames.append(res.assign(seed=seed, widening="backtest" if calibrate else "bootstrap only"))
    return pd.concat(frames, ignore_index=True)


def summary(res: pd.DataFrame) -> pd.DataFrame:
    ok = res.dropna(subset=["predicted"])
    ok = ok.assign(inside=(ok["actual"] >= ok["interval_low"]) & (ok["actual"] <= ok["interval_high"]),
                   width=(ok["interval_high"] - ok["interval_low"]) * 100, mae=ok["abs_error"] * 100)
    return ok.groupby(["method", "widening"]).agg(forecasts=("inside", "size"), coverage=("inside", "mean"),
                                                  mean_width_points=("width", "mean"),
                                                  mae_points=("mae", "mean")).round(2)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--out", type=Path, default=None, help="folder for the CSV of every forecast")
    args = ap.parse_args(argv)
    t0 = time.time()
    res = run(args.seeds, args.n_boot)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        res.to_csv(args.out / "cod_planted.csv", index=False)
    print(summary(res).to_string())
    skipped = res[res["predicted"].isna()]
    if len(skipped):
        print(f"\nnot forecast: {len(skipped)} rows (no predictable cluster): seeds "
              f"{sorted(skipped['seed'].unique())}")
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
