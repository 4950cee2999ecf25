"""Is method A's earlier-predicts-later AUROC really above method B's? A paired bootstrap over the held-out questions.

The demo's `auroc_mean` is one number from one sample of held-out questions (and one draw of their sampled
labels): on the real run a task such as `weekday` (pass@1 ≈ 0.1, 20 held-out questions, two or three positives
per test checkpoint) moves a method's mean by 0.07 between two draws of the same labels. This benchmark puts an
interval on the *difference* between two methods scored on the same rows: the held-out questions of each task are
resampled with replacement (a question keeps its rows at every test checkpoint, so the cluster is the question),
every method is rescored on the same resample exactly as `auroc_mean` aggregates (per-checkpoint AUROC against
pass@1 >= 0.5, averaged over the task's checkpoints where both classes occur, then over tasks; a task none of
whose checkpoints has both classes is pooled over its checkpoints, as `evaluation.scoring` does), and the
difference A − B is read off each resample (`probecast.evaluation.auroc_bootstrap`, which also gives the
evaluation's `auroc_ci` and `auroc_paired`; this script reruns it on a workspace with other settings). Printed
per method against `--against` (default `carry_forward`): the point difference, its `--level` interval (percentile, or
`--interval bca`) and the share of resamples where A is above B. Nothing is chosen here: it says whether a
gap between two figures of the README is larger than the held-out questions allow to see.

    python benchmarks/auroc_paired.py --ws DIR [--against carry_forward] [--boot 1000] [--level 0.9] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd


def load(ws: Path) -> pd.DataFrame:
    """The evaluation's test rows × methods (W/evaluation/predictions.parquet)."""
    from probecast.errors import ProbecastError

    path = ws / "evaluation" / "predictions.parquet"
    if not path.exists():
        raise ProbecastError(f"{path}: no evaluation predictions; run `probecast evaluate --ws {ws}` first")
    return pd.read_parquet(path)


def paired(rows: pd.DataFrame, against: str, boot: int, level: float, seed: int = 0,
           interval: str = "percentile") -> dict:
    """{method: {auroc, diff, lo, hi, p_above}} against `against` (the point is the summary's own figure)."""
    from probecast.evaluation.auroc_bootstrap import BootstrapConfig, auroc_bootstrap

    b = auroc_bootstrap(rows, against=[against],
                        cfg=BootstrapConfig(boot=boot, level=level, seed=seed, interval=interval))
    res = {}
    for m, r in b["methods"].items():
        d = b["against"][against].get(m) or {"diff": 0.0, "lo": 0.0, "hi": 0.0, "p_above": None}
        res[m] = {"auroc": r["auroc_mean"], **d}
    return res


def main(argv: list[str] | None = None) -> dict:
    from probecast.errors import ProbecastError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", type=Path, required=True, help="a workspace with an evaluation (e.g. a demo's output)")
    ap.add_argument("--against", default="carry_forward", help="the method every other one is compared with")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the held-out questions")
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--interval", default="percentile", choices=("percentile", "bca"),
                    help="percentile (the evaluation's default) or BCa")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.boot < 10 or not 0 < args.level < 1:
        raise ProbecastError("--boot must be >= 10 and --level in (0, 1), e.g. --boot 1000 --level 0.9")
    rows = load(args.ws)
    methods = list(dict.fromkeys(rows["method"]))
    if args.against not in methods:
        raise ProbecastError(f"--against {args.against}: not in the evaluation (methods: {', '.join(methods)})")
    res = paired(rows, args.against, args.boot, args.level, interval=args.interval)
    if args.json:
        print(json.dumps({"against": args.against, "level": args.level, "boot": args.boot,
                          "interval": args.interval, "methods": res}))
        return res
    qs = rows[["task", "question_id"]].drop_duplicates()
    print(f"{args.ws}: {len(qs)} held-out questions in {qs['task'].nunique()} tasks, {args.boot} paired resamples "
          f"(questions within each task), {args.level:.0%} {args.interval} intervals of the AUROC difference against "
          f"{args.against}")
    print(f"  {'method':22s} {'AUROC':>6s} {'diff':>7s}  {'interval':>17s}  {'P(above)':>8s}")
    for m, r in sorted(res.items(), key=lambda kv: -np.nan_to_num(kv[1]["auroc"], nan=-1)):
        if m == args.against:
            print(f"  {m:22s} {r['auroc']:6.3f}      --")
            continue
        print(f"  {m:22s} {r['auroc']:6.3f} {r['diff']:+7.3f}  [{r['lo']:+.3f}, {r['hi']:+.3f}]  {r['p_above']:8.2f}")
    return res


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)
