"""The finite PPI interval's small-sample safeguard, three ways, on the same audit draws of one or more workspaces.

    python benchmarks/ppi_safeguards.py --ws demo-out /tmp/rd34

`evaluation.ppi.finite_se` adds z²/2 pseudo-successes and z²/2 pseudo-failures to the audit's residuals
y − λ·P, predicted at the mean P over the N questions (`mean`, the default; Agresti–Coull at λ = 0), for the audited
and for the unaudited mean each at its own size. Two
diagnostics that put them where rare large residuals are: `random` — each pseudo-observation predicted at a
uniformly random question's P (its weight spread over the N predictions), and `extreme` — the pseudo-success at the
lowest P, the pseudo-failure at the highest. Printed per n: coverage of the 90 % interval and the width ratio to the
labels-only interval (the default safeguard at λ = 0), over every test checkpoint × task cell with more than n questions,
`--draws` audits each, as `ppi_coverage.py` scores them. Measures; changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ppi_coverage import test_scores  # noqa: E402

from probecast.evaluation.ppi import finite_se, regression_lambda  # noqa: E402
from probecast.workspace import Workspace  # noqa: E402

SAFEGUARDS = ("mean", "random", "extreme")


def se_of(safeguard: str, y, f_audit, f_all, lam: float, z: float) -> float:
    """`finite_se` with the pseudo-observations predicted as `safeguard` says (`random`: at every question's P,
    each sharing the weight evenly, i.e. at a uniformly random question's)."""
    at = {"mean": None, "random": (f_all, f_all), "extreme": (float(f_all.min()), float(f_all.max()))}[safeguard]
    return finite_se(y, f_audit, f_all, lam, z, pseudo_at=at)


def measure(ws: Path, ns: list[int], draws: int, seed: int, level: float) -> dict:
    """{safeguard: {n: (coverage, width ratio)}}, every safeguard on the same draws."""
    _, df = test_scores(Workspace(ws, create=False))
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    rng = np.random.default_rng(seed)
    acc = {s: {n: ([], [], []) for n in ns} for s in SAFEGUARDS}
    for n in ns:
        for _, g in df.groupby(["checkpoint", "task"]):
            if len(g) <= n:
                continue
            p, y = g["p"].to_numpy(), g["y"].to_numpy()
            for _ in range(draws):
                idx = rng.choice(len(g), n, replace=False)
                ya, fa = y[idx], p[idx]
                lam = regression_lambda(ya, fa, p)
                est = lam * p.mean() + (ya - lam * fa).mean()
                half0 = z * finite_se(ya, fa, p, 0.0, z)
                width0 = min(ya.mean() + half0, 1.0) - max(ya.mean() - half0, 0.0)
                for s in SAFEGUARDS:
                    half = z * se_of(s, ya, fa, p, lam, z)
                    lo, hi = max(est - half, 0.0), min(est + half, 1.0)
                    cov, w, w0 = acc[s][n]
                    cov.append(lo <= y.mean() <= hi), w.append(hi - lo), w0.append(width0)
    return {s: {n: (float(np.mean(c)), float(np.mean(w) / np.mean(w0))) for n, (c, w, w0) in by.items() if c}
            for s, by in acc.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", type=Path, nargs="+", required=True, help="workspaces with an evaluation")
    ap.add_argument("--n", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--level", type=float, default=0.9)
    args = ap.parse_args(argv)
    for ws in args.ws:
        for s, by in measure(ws, args.n, args.draws, args.seed, args.level).items():
            print(f"{ws}  {s:8s}" + "".join(f"  n={n}: coverage {c:.3f} width ratio {r:.2f}" for n, (c, r) in by.items()))


if __name__ == "__main__":
    main()
