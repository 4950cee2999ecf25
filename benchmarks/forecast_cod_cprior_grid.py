"""The strength of COD's prior on c (`rule.C_PRIOR`) on the planted family of issue 18: a grid, per seed.

For every strength: the error at 2.5B of COD as the CLI runs it (`n_boot=0`: the same point forecast) and of
perfect clustering (the planted clusters fitted as COD fits them: shared b, no refinement, no mapping), and per
planted cluster the signed error of its law with perfect clustering. This is the grid the default was chosen on
(dev seeds 0-49 only).

    .venv/bin/python benchmarks/forecast_cod_cprior_grid.py --first-seed 0 --seeds 50 [--c-priors 0,0.01,0.02,0.03]
"""

from __future__ import annotations

import argparse
from unittest import mock

import numpy as np
import pandas as pd
from rich.progress import track

import probecast.forecast.cod.forecaster as cod
from probecast.forecast.base import Query
from probecast.forecast.cod.synthetic import FAMILY_TARGET, PlantedFamily, family_compute

NAMES = ["easy", "medium", "hard", "very hard", "emergent", "saturating"]


def one_seed(seed: int, strengths: list[float], query: Query) -> tuple[dict, list[dict]]:
    fam = PlantedFamily(seed=seed)
    df, truth = fam.rows(), fam.truth()
    planted = np.repeat(np.arange(6), [law[3] for law in fam.laws()])
    target = fam.curves(np.array([FAMILY_TARGET]))[:, 0]
    row, clusters = {"seed": seed}, []
    for s in strengths:
        row[f"cod {s:g}"] = (cod.CODForecaster(n_boot=0, calibrate=False, c_prior=s).fit(df).predict(query).predicted
                             - truth) * 100
        with mock.patch.object(cod, "cluster_questions", lambda P, cfg: planted.copy()):
            perfect = cod.CODForecaster(n_boot=0, calibrate=False, c_prior=s, refine=False, use_mapping=False).fit(df)
        row[f"perfect {s:g}"] = (perfect.predict(query).predicted - truth) * 100
        for r in perfect.clusters_:
            pred = float(cod.cluster_law(query.compute / perfect.unit_, r["a"], r["b"], r["c"], 0.0, r["sigma"]))
            clusters.append({"seed": seed, "c prior": s, "cluster": NAMES[r["cluster"]],
                             "signed": (pred - target[planted == r["cluster"]].mean()) * 100})
    row["end-to-end"] = (cod.EndToEndForecaster(n_boot=0, calibrate=False).fit(df).predict(query).predicted
                         - truth) * 100
    return row, clusters


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--c-priors", default="0,0.01,0.02,0.03")
    args = ap.parse_args(argv)
    strengths = [float(x) for x in args.c_priors.split(",")]
    query = Query(params=FAMILY_TARGET, tokens=20 * FAMILY_TARGET, flops=family_compute(FAMILY_TARGET))
    rows, clusters = [], []
    for seed in track(range(args.first_seed, args.first_seed + args.seeds), description="c prior grid"):
        row, per = one_seed(seed, strengths, query)
        rows.append(row)
        clusters += per
    res = pd.DataFrame(rows).set_index("seed")
    e2e = res["end-to-end"].abs()
    for col in res:
        a = res[col].abs()
        print(f"{col:16s} mean {a.mean():.2f}  median {a.median():.2f}  90th pct {a.quantile(0.9):.2f}  "
              f"max {a.max():.2f}  within 2.0 {(a <= 2).mean():.0%}  closer than end-to-end {(a < e2e).mean():.0%}"
              f"  signed {res[col].mean():+.2f}")
    per = pd.DataFrame(clusters).groupby(["c prior", "cluster"], sort=False)["signed"].mean().unstack()
    print("\nsigned error (points) per planted cluster with perfect clustering, mean over seeds")
    print(per.round(2).to_string())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
