"""Out-of-sample coverage of the probe's task-score interval: question bootstrap alone vs widened by the
probe's error measured on earlier checkpoints (`probecast.evaluation.interval`).

Three groups of labelled checkpoints in one workspace, in step order: the probe is fitted on the first
(`--train-until`), its task-score error is measured on the second (up to `--calibrate-until`, as `probecast
evaluate` would measure it before the later checkpoints exist), and the intervals are scored on the rest.

    python benchmarks/interval_coverage.py --ws demo-out --train-until 500 --calibrate-until 1000
"""

from __future__ import annotations

import argparse

import pandas as pd

from probecast.evaluation.data import labelled_pairs
from probecast.evaluation.evaluate import evaluate
from probecast.evaluation.splits import SplitConfig
from probecast.evaluation.interval import score_errors, widen
from probecast.evaluation.metrics import bootstrap_mean_ci
from probecast.workspace import Workspace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws", required=True)
    ap.add_argument("--probe", default="hybrid")
    ap.add_argument("--train-until", type=int, required=True, help="last training step")
    ap.add_argument("--calibrate-until", type=int, required=True, help="last step whose error calibrates")
    ap.add_argument("--level", type=float, default=0.95)
    args = ap.parse_args()

    ws = Workspace(args.ws, create=False)
    X, labels = labelled_pairs(ws)
    early = X.step <= args.calibrate_until
    train_ck = sorted({str(c) for c, s in zip(X.checkpoint, X.step) if s <= args.train_until})
    res = evaluate(X.subset(early), labels[early].reset_index(drop=True), probes=[args.probe], baselines=[],
                   split=SplitConfig(train_checkpoints=train_ck, test_fraction=0.3), show_progress=False,
                   bootstrap=None)
    sd = score_errors(res.table, args.probe)  # what `probecast evaluate` would have measured by then

    late = ~early
    p = res.fitted[args.probe].predict_proba(X.subset(late))
    rows = pd.DataFrame({"task": X.task[late].astype(str), "checkpoint": X.checkpoint[late].astype(str),
                         "p": p, "y": labels["pass1"].to_numpy()[late]})
    out = []
    for (task, ckpt), g in rows.groupby(["task", "checkpoint"]):
        mean = float(g["p"].mean())
        lo, hi = bootstrap_mean_ci(g["p"].to_numpy(), level=args.level)
        wlo, whi = widen(mean, lo, hi, sd.get(task), args.level)
        actual = float(g["y"].mean())
        out.append({"task": task, "checkpoint": ckpt, "abs_err": abs(mean - actual),
                    "bootstrap_covers": lo <= actual <= hi, "bootstrap_width": hi - lo,
                    "widened_covers": wlo <= actual <= whi, "widened_width": whi - wlo})
    df = pd.DataFrame(out)
    print(df.groupby("task")[["abs_err", "bootstrap_covers", "widened_covers", "bootstrap_width",
                              "widened_width"]].mean().round(3).to_string())
    print(f"{len(df)} (task, checkpoint) scores at steps > {args.calibrate_until}, nominal {args.level:.0%}: "
          f"bootstrap coverage {df.bootstrap_covers.mean():.2f} (mean width {df.bootstrap_width.mean():.3f}), "
          f"widened {df.widened_covers.mean():.2f} (mean width {df.widened_width.mean():.3f}); "
          f"mean |error| {df.abs_err.mean():.3f}")


if __name__ == "__main__":
    main()
