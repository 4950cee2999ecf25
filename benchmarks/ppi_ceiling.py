"""How narrow could the PPI interval get? The width ceilings behind `ppi_coverage.py`'s width bar.

PPI's width relative to the labels alone is about sqrt(1 − ρ²), ρ = the within-(checkpoint, task) correlation
of the predictor with the labels, plus what the interval itself adds at small n (`evaluation/ppi.py`: the
Agresti–Coull pseudo-counts are the same for both intervals and do not shrink with a better predictor).

1. Fit-time choice of the predictor: for every fitted probe and baseline of the evaluation, the within-cell
   residual sd / label sd (regression λ per cell) on the *training* checkpoints × the evaluation's held-out
   questions (labels no method was fitted on, known at fit time). This is the only legitimate way to pick
   the predictor fed to PPI; the test checkpoints are never used for it.
2. Ceilings on the test checkpoints (optimistic by construction, never used to choose anything): the same
   audit draws as `ppi_coverage.py` with (a) the best probe, (b) every other method as the predictor, and
   (c) a perfect predictor (P(success) = the label itself), printing the finite interval's width ratio.
3. Diagnostics of the best probe's finite interval on the same draws: coverage and width ratio with the oracle
   λ of each cell instead of the estimated one, without the Agresti–Coull pseudo-counts, and with the
   pseudo-success and pseudo-failure predicted where a calibrated probe would put them
   (`calibrated_pseudo_predictions`: narrower, but it trusts the probe's calibration); and the n-free
   ratio of a least-squares fit, inside each test cell (optimistic), of the labels on the best probe plus the
   last training checkpoint's label of the same question (the carry-forward a monitor knows).

    python benchmarks/ppi_ceiling.py --ws demo-out
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import numpy as np
import pandas as pd

from probecast.evaluation.data import feature_index, labelled_pairs, load_pairs, select
from statistics import NormalDist

from probecast.evaluation.ppi import calibrated_pseudo_predictions, finite_se, ppi_mean, regression_lambda
from probecast.evaluation.splits import SplitConfig, make_split
from probecast.identity import check_split_scheme
from probecast.probes.base import load_probe
from probecast.workspace import Workspace


def cells(X) -> pd.Series:
    return pd.Series(X.checkpoint.astype(str)) + "/" + pd.Series(X.task.astype(str))


def residual_ratio(y: np.ndarray, f: np.ndarray, cell: pd.Series) -> float:
    """Σ over cells of sd(y − λf) / Σ sd(y), λ the regression slope in each cell (cells with varying labels)."""
    num = den = 0.0
    for c in cell.unique():
        m = (cell == c).to_numpy()
        yy, ff = y[m], f[m]
        if yy.std() == 0:
            continue
        lam = regression_lambda(yy, ff, ff)
        num, den = num + (yy - lam * ff).std(), den + yy.std()
    return num / den if den else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws", default="demo-out")
    ap.add_argument("--n", default="16,32,64")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ws = Workspace(args.ws, create=False)
    s = json.loads(ws.summary_file.read_text())
    check_split_scheme(ws)  # else the held-out questions drawn below would not be the summary's
    X, lab = labelled_pairs(ws)
    y = lab["pass1"].to_numpy(float)
    sp = s["split"]
    split = make_split(X, SplitConfig(**{k.name: sp[k.name] for k in fields(SplitConfig) if k.name in sp}))
    held_out = set(zip(X.task[split.test].astype(str), X.question_ids[split.test].astype(str)))
    is_held = np.array([(t, q) in held_out for t, q in zip(X.task.astype(str), X.question_ids.astype(str))])
    val = np.flatnonzero(np.isin(X.checkpoint.astype(str), split.train_checkpoints) & is_held)
    test = np.flatnonzero(np.isin(X.step, s["test_checkpoints"]))
    Xv, Xt = X.subset(val), X.subset(test)
    methods = list(s["probes"]) + list(s["baselines"])
    preds = {m: load_probe(ws.probe_dir(m)) for m in methods}
    print(f"1. fit-time choice: residual sd / label sd on {len(val)} rows (training checkpoints x held-out "
          f"questions); lower is narrower")
    fit_time = {m: residual_ratio(y[val], p.predict_proba(Xv), cells(Xv)) for m, p in preds.items()}
    for m, r in sorted(fit_time.items(), key=lambda kv: kv[1]):
        print(f"   {m:22s} {r:.3f}{'  (best probe)' if m == s['best_probe'] else ''}")
    print("2. ceilings on the test checkpoints (finite interval; optimistic, not used to choose): width ratio "
          "PPI / labels alone at each n")
    yt, ct = y[test], cells(Xt)
    candidates = {m: p.predict_proba(Xt) for m, p in preds.items()}
    candidates["perfect (the label itself)"] = yt
    ns = [int(n) for n in args.n.split(",")]
    for name, f in candidates.items():
        rng = np.random.default_rng(args.seed)
        w = {n: [0.0, 0.0] for n in ns}
        for c in ct.unique():
            m = (ct == c).to_numpy()
            ff, yy = f[m], yt[m]
            for n in ns:
                for _ in range(args.draws if n < len(yy) else 0):  # as ppi_coverage.py: only cells larger than n
                    i = rng.choice(len(yy), n, replace=False)
                    e = ppi_mean(ff, yy[i], ff[i])
                    w[n][0] += e.hi - e.lo
                    w[n][1] += e.classical_hi - e.classical_lo
        ratios = "  ".join(f"n={n}: {a / b:.3f}" for n, (a, b) in w.items())
        print(f"   {name:28s} n-free {residual_ratio(yt, f, ct):.3f}  {ratios}")
    best = candidates[s["best_probe"]]
    print(f"3. the best probe ({s['best_probe']}), finite interval variants on the same draws:")
    diagnostics(best, yt, ct, ns, args.draws, args.seed)
    last = split.train_checkpoints[-1]
    print(f"   in-cell least squares on {s['best_probe']} + the {last} label of each question: n-free "
          f"{carry_forward_ols(ws, Xt, yt, best, last):.3f} (the probe alone: {residual_ratio(yt, best, ct):.3f})")


def diagnostics(f: np.ndarray, y: np.ndarray, cell: pd.Series, ns: list[int], draws: int, seed: int) -> None:
    z = NormalDist().inv_cdf(0.95)
    variants = {"estimated λ": (None, True), "oracle λ per cell": ("oracle", True),
                "no pseudo-counts": (None, False), "pseudo-counts at calibrated predictions": (None, "calibrated")}
    for n in ns:
        rng = np.random.default_rng(seed)
        acc = {k: [[], [], []] for k in variants}  # covers, PPI width, labels-only width
        for c in cell.unique():
            m = (cell == c).to_numpy()
            ff, yy = f[m], y[m]
            calibrated = calibrated_pseudo_predictions(ff)  # depends on the cell's predictions only
            for _ in range(draws if n < len(yy) else 0):  # as ppi_coverage.py: only cells larger than n
                i = rng.choice(len(yy), n, replace=False)
                for k, (lam, pseudo) in variants.items():
                    lam_ = regression_lambda(yy, ff, ff) if lam == "oracle" else regression_lambda(yy[i], ff[i], ff)
                    est = lam_ * ff.mean() + (yy[i] - lam_ * ff[i]).mean()
                    at = calibrated if pseudo == "calibrated" else None
                    h = z * finite_se(yy[i], ff[i], ff, lam_, z, pseudo=bool(pseudo), pseudo_at=at)
                    h0 = z * finite_se(yy[i], ff[i], ff, 0.0, z, pseudo=bool(pseudo), pseudo_at=at)
                    lo, hi = max(est - h, 0.0), min(est + h, 1.0)
                    acc[k][0].append(lo <= yy.mean() <= hi)
                    acc[k][1].append(hi - lo)
                    acc[k][2].append(min(yy[i].mean() + h0, 1.0) - max(yy[i].mean() - h0, 0.0))
        print(f"   n={n}: " + "; ".join(f"{k}: coverage {np.mean(a[0]):.3f}, ratio {np.mean(a[1]) / np.mean(a[2]):.3f}"
                                        for k, a in acc.items()))


def carry_forward_ols(ws: Workspace, X, y: np.ndarray, f: np.ndarray, last: str) -> float:
    """n-free ratio of an in-cell least-squares fit of y on [f, label at checkpoint `last`, 1]."""
    idx = select(feature_index(ws), [last], None, labelled=True)
    XL, labL = load_pairs(ws, idx, labelled=True)
    prev = dict(zip(zip(XL.task.astype(str), XL.question_ids.astype(str)), labL["pass1"].to_numpy(float)))
    y_last = np.array([prev.get(k, 0.0) for k in zip(X.task.astype(str), X.question_ids.astype(str))])
    cell, num, den = cells(X), 0.0, 0.0
    for c in cell.unique():
        m = (cell == c).to_numpy()
        A = np.column_stack([f[m], y_last[m], np.ones(m.sum())])
        beta, *_ = np.linalg.lstsq(A, y[m], rcond=None)
        num, den = num + (y[m] - A @ beta).std(), den + y[m].std()
    return num / den


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)  # a bad workspace or an old split scheme: one line, exit 2
