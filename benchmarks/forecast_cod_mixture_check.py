"""Does the mixture law (`cod.mixture`) remove the perfect-cluster bias of COD on the planted family?

Per seed of `cod.synthetic.PlantedFamily` and per planted cluster (perfect clustering, no shared prior on b): the
signed error at 2.5B of the law fitted to the cluster's mean curve, plain or as the mixture over the PLANTED
spread (an oracle σ: the family's scatter of a, 0.3, alone; or with its scatter of b, 0.05, whose spread in
log(a·C^-b) is 0.05·ln C and so grows with C), fitted to the observed mean curve or to the exact expected mean
curve (no sampling noise), without and with COD's prior on c (0.03). If the plain law's form were the loss, the
oracle mixture on exact curves would extrapolate without error.

    .venv/bin/python benchmarks/forecast_cod_mixture_check.py [--first-seed 0] [--seeds 50]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from probecast.forecast.cod.data import question_matrix
from probecast.forecast.cod.law import cluster_law, fit_law
from probecast.forecast.cod.synthetic import FAMILY_PARAMS, FAMILY_TARGET, PlantedFamily, family_compute

NAMES = ["easy", "medium", "hard", "very hard", "emergent", "saturating"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=50)
    args = ap.parse_args(argv)
    C = np.array([family_compute(p) for p in FAMILY_PARAMS]) / family_compute(FAMILY_PARAMS[0])
    CT = np.array([family_compute(FAMILY_TARGET) / family_compute(FAMILY_PARAMS[0])])
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        fam = PlantedFamily(seed=seed)
        spreads = {"plain": (0.0, 0.0), "mix a": (fam.scatter_a, 0.0), "mix a+b": (fam.scatter_a, fam.scatter_b)}
        observed = question_matrix(fam.rows(), "planted").pass_rate
        exact, target = fam.curves(np.array(FAMILY_PARAMS)), fam.curves(np.array([FAMILY_TARGET]))[:, 0]
        planted = np.repeat(np.arange(6), [law[3] for law in fam.laws()])
        for k, name in enumerate(NAMES):
            member, row = planted == k, {"cluster": name}
            for curve, P in (("exact", exact), ("observed", observed)):
                for c_prior in (0.0, 0.03):
                    for label, (sa, sb) in spreads.items():
                        sig = lambda x: np.sqrt(sa ** 2 + (sb * np.log(x)) ** 2)  # noqa: E731
                        fit = fit_law(C, P[member].mean(axis=0), c_prior=c_prior, sigma=sig(C))
                        pred = cluster_law(CT, *fit.params, 0.0, sig(CT))[0]
                        row[f"{curve}, c prior {c_prior:g}, {label}"] = (pred - target[member].mean()) * 100
            rows.append(row)
    per = pd.DataFrame(rows)
    print(f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}: signed error (points) at 2.5B per planted "
          "cluster, mean over seeds (|error| in brackets: mean of the absolute values)")
    signed = per.groupby("cluster", sort=False).mean().T
    absolute = per.set_index("cluster").abs().groupby("cluster", sort=False).mean().T
    print(signed.round(2).astype(str).add(" (").add(absolute.round(2).astype(str)).add(")").to_string())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
