"""Do the evaluation's AUROC intervals cover? A simulation shaped like the real demo, with a known truth.

The evaluation's `auroc_ci` and `auroc_paired` (`probecast.evaluation.auroc_bootstrap`) come from a question
bootstrap of one sample of held-out questions. Whether a 90 % interval covers 90 % of the time is an empirical
question at these sizes (20 questions per skill, two or three positives per checkpoint on a rare task), so this
benchmark draws many such samples from a known population and counts.

Population (per task, shaped like the real demo's held-out set): 6 skills × 20 questions, one
multiple-choice task × 40, one hard task × 8; 5 test checkpoints. A question has a latent difficulty d ~ N(0, 1);
at checkpoint k its pass probability is sigmoid(a_task + g_k − 1.5 d) (a_task sets the base rate, from ≈ 0.1 for
the rare task to ≈ 0.8; g_k a rise over the checkpoints), its label pass@1 of 8 samples, binarised at 0.5 as the
evaluation does. Two predictors: `good` (−d plus noise of sd 0.7) and `weak` (−d plus noise of sd 2.5). The truth
is each method's AUROC mean, and the difference, computed exactly as the evaluation aggregates but on
`--population` questions per task (large: the limit the sample estimates). Each of `--draws` samples gets three
intervals (percentile, the evaluation's default with n - 1 questions drawn per task; percentile with n drawn, the
plain bootstrap; and BCa) from `--boot` resamples; printed: coverage and mean width per
method and for the difference, and the bias of the sample's point against the truth.

    python benchmarks/auroc_interval_coverage.py [--draws 300] [--boot 1000] [--level 0.9] [--json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

TASKS = {  # name: (questions in the held-out sample, base-rate offset a_task)
    "rare": (20, -2.2), "skill_a": (20, 0.0), "skill_b": (20, -1.0), "skill_c": (20, 1.0), "skill_d": (20, -0.5),
    "skill_e": (20, 2.0), "mc": (40, 0.8), "hard": (8, -3.0),
}
RISE = np.array([0.0, 0.3, 0.6, 0.8, 1.0])  # g_k over the 5 test checkpoints
NOISE = {"good": 0.7, "weak": 2.5}


def draw_rows(rng: np.random.Generator, scale: int | None = None) -> pd.DataFrame:
    """One held-out sample (scale None) or a population of `scale` questions per task, as evaluation rows."""
    out = []
    for task, (n, a) in TASKS.items():
        n = scale or n
        d = rng.standard_normal(n)
        preds = {m: -d + sd * rng.standard_normal(n) for m, sd in NOISE.items()}
        qid = [f"q{i}" for i in range(n)]
        for k, g in enumerate(RISE):
            prob = 1 / (1 + np.exp(-(a + g - 1.5 * d)))
            pass1 = rng.binomial(8, prob) / 8
            for m, p in preds.items():
                out.append(pd.DataFrame({"method": m, "task": task, "checkpoint": f"c{k}", "step": k,
                                         "question_id": qid, "pass1": pass1, "p": p}))
    return pd.concat(out, ignore_index=True)


def truth(rng: np.random.Generator, population: int) -> dict:
    """Each method's AUROC mean and the difference on a large population, aggregated as the summary does."""
    from probecast.evaluation.scoring import summarise

    rows = draw_rows(rng, population)
    t = {m: summarise(rows[rows["method"] == m])["auroc_mean"] for m in NOISE}
    return {**t, "good-weak": t["good"] - t["weak"]}


def main(argv: list[str] | None = None) -> dict:
    from probecast.errors import ProbecastError
    from probecast.evaluation.auroc_bootstrap import BootstrapConfig, auroc_bootstrap
    from probecast.ui import track

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=300, help="held-out samples drawn from the population")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per sample")
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--population", type=int, default=4000, help="questions per task for the truth")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.draws < 1 or args.population < 100:
        raise ProbecastError("--draws must be >= 1 and --population >= 100, e.g. --draws 300 --population 4000")
    cfgs = {"percentile": BootstrapConfig(boot=args.boot, level=args.level),  # the evaluation's default (n - 1 draws)
            "percentile_draw_n": BootstrapConfig(boot=args.boot, level=args.level, draw="n"),  # the plain bootstrap
            "bca": BootstrapConfig(boot=args.boot, level=args.level, interval="bca")}
    rng = np.random.default_rng(args.seed)
    true = truth(rng, args.population)
    keys = ["good", "weak", "good-weak"]
    hits = {i: {k: [] for k in keys} for i in cfgs}
    widths = {i: {k: [] for k in keys} for i in cfgs}
    points = {k: [] for k in keys}
    for _ in track(range(args.draws), "samples", total=args.draws, show=not args.json):
        rows = draw_rows(rng)
        for i, cfg in cfgs.items():
            b = auroc_bootstrap(rows, against=["weak"], cfg=cfg)
            got = {"good": b["methods"]["good"], "weak": b["methods"]["weak"], "good-weak": b["against"]["weak"]["good"]}
            for k in keys:
                lo, hi = got[k]["lo"], got[k]["hi"]
                if lo is None:
                    continue
                hits[i][k].append(lo <= true[k] <= hi)
                widths[i][k].append(hi - lo)
        points["good"].append(b["methods"]["good"]["auroc_mean"])
        points["weak"].append(b["methods"]["weak"]["auroc_mean"])
        points["good-weak"].append(b["against"]["weak"]["good"]["diff"])
    res = {"level": args.level, "draws": args.draws, "boot": args.boot, "truth": true,
           "bias": {k: float(np.nanmean(points[k]) - true[k]) for k in keys},
           "coverage": {i: {k: float(np.mean(hits[i][k])) for k in keys} for i in cfgs},
           "width": {i: {k: float(np.mean(widths[i][k])) for k in keys} for i in cfgs}}
    if args.json:
        print(json.dumps(res))
        return res
    print(f"{args.draws} held-out samples shaped like the real demo's; truth on {args.population} questions per task; "
          f"{args.level:.0%} intervals from {args.boot} resamples")
    print(f"  {'quantity':10s} {'truth':>7s} {'bias':>7s}  " + "  ".join(f"{i + ' cover':>24s} {'width':>6s}" for i in cfgs))
    for k in keys:
        print(f"  {k:10s} {true[k]:7.3f} {res['bias'][k]:+7.3f}  "
              + "  ".join(f"{res['coverage'][i][k]:24.3f} {res['width'][i][k]:6.3f}" for i in cfgs))
    return res


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)
