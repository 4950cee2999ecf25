"""Is method A's earlier-predicts-later AUROC really above method B's? A paired bootstrap over the held-out questions.

The demo's `auroc_mean` is one number from one sample of held-out questions (and one draw of their sampled
labels): on the real run a task such as `weekday` (pass@1 ≈ 0.1, 20 held-out questions, two or three positives
per test checkpoint) moves a method's mean by 0.07 between two draws of the same labels. This benchmark puts an
interval on the *difference* between two methods scored on the same rows: the held-out questions of each task
are resampled with replacement (a question keeps its rows at every test checkpoint, so the cluster is the
question), every method is rescored on the same resample exactly as `auroc_mean` aggregates (per-checkpoint
AUROC against pass@1 >= 0.5, averaged over the task's checkpoints where both classes occur, then over tasks;
a task none of whose checkpoints has both classes is pooled over its checkpoints, as `evaluation.scoring` does),
and the difference A − B is read off each resample. Printed per method against `--against` (default
`carry_forward`): the point difference, its `--level` percentile interval and the share of resamples where A
is above B. Nothing is chosen here: it says whether a gap between two figures of the README is larger than
the held-out questions allow to see.

    python benchmarks/auroc_paired.py --ws DIR [--against carry_forward] [--boot 1000] [--level 0.9] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd


def _auroc(y: np.ndarray, p: np.ndarray) -> float:
    from probecast.evaluation.metrics import auroc

    return auroc(y, p) if len(y) else float("nan")


def _task_auroc(cells: list[tuple[np.ndarray, np.ndarray]], rows: np.ndarray) -> float:
    """The task's AUROC on the resampled question rows (`rows` indexes each cell's questions)."""
    per = [_auroc(y[rows], p[rows]) for y, p in cells]
    per = [a for a in per if np.isfinite(a)]
    if per:
        return float(np.mean(per))
    return _auroc(np.concatenate([y[rows] for y, _ in cells]), np.concatenate([p[rows] for _, p in cells]))


def load(ws: Path) -> tuple[list[str], dict]:
    """Methods and, per task, per method, the (label >= 0.5, prediction) arrays of each test checkpoint, the
    questions in one order across checkpoints and methods."""
    from probecast.errors import ProbecastError

    path = ws / "evaluation" / "predictions.parquet"
    if not path.exists():
        raise ProbecastError(f"{path}: no evaluation predictions; run `probecast evaluate --ws {ws}` first")
    pred = pd.read_parquet(path)
    methods = list(dict.fromkeys(pred["method"]))
    tasks: dict = {}
    for task, g in pred.groupby("task", sort=True):
        qids = sorted(set(g["question_id"]))
        ckpts = sorted(set(g["checkpoint"]), key=lambda c: int(g.loc[g["checkpoint"] == c, "step"].iloc[0]))
        tasks[task] = {"n": len(qids), "methods": {}}
        for m, gm in g.groupby("method", sort=False):
            cells = []
            for c in ckpts:
                gc = gm[gm["checkpoint"] == c].set_index("question_id").reindex(qids)
                if gc["p"].isna().any():
                    raise ProbecastError(f"{path}: method {m} lacks questions of {task} at {c}; re-run evaluate")
                cells.append(((gc["pass1"].to_numpy(float) >= 0.5).astype(float), gc["p"].to_numpy(float)))
            tasks[task]["methods"][m] = cells
    return methods, tasks


def paired(methods: list[str], tasks: dict, against: str, boot: int, level: float, seed: int = 0) -> dict:
    """{method: {auroc, diff, lo, hi, p_above}} against `against` (the point is the demo's own figure)."""
    rng = np.random.default_rng(seed)

    def means(draw: dict) -> dict:
        out = {}
        for m in methods:
            vals = [_task_auroc(t["methods"][m], draw[name]) for name, t in tasks.items()]
            vals = [v for v in vals if np.isfinite(v)]
            out[m] = float(np.mean(vals)) if vals else float("nan")
        return out

    point = means({name: np.arange(t["n"]) for name, t in tasks.items()})
    diffs = {m: [] for m in methods}
    for _ in range(boot):
        b = means({name: rng.integers(0, t["n"], t["n"]) for name, t in tasks.items()})
        for m in methods:
            diffs[m].append(b[m] - b[against])
    a = (1 - level) / 2
    res = {}
    for m in methods:
        d = np.array(diffs[m])
        d = d[np.isfinite(d)]
        res[m] = {"auroc": point[m], "diff": point[m] - point[against],
                  "lo": float(np.quantile(d, a)) if len(d) else None,
                  "hi": float(np.quantile(d, 1 - a)) if len(d) else None,
                  "p_above": float(np.mean(d > 0)) if len(d) else None}
    return res


def main(argv: list[str] | None = None) -> dict:
    from probecast.errors import ProbecastError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", type=Path, required=True, help="a workspace with an evaluation (e.g. a demo's output)")
    ap.add_argument("--against", default="carry_forward", help="the method every other one is compared with")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the held-out questions")
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.boot < 10 or not 0 < args.level < 1:
        raise ProbecastError("--boot must be >= 10 and --level in (0, 1), e.g. --boot 1000 --level 0.9")
    methods, tasks = load(args.ws)
    if args.against not in methods:
        raise ProbecastError(f"--against {args.against}: not in the evaluation (methods: {', '.join(methods)})")
    res = paired(methods, tasks, args.against, args.boot, args.level)
    if args.json:
        print(json.dumps({"against": args.against, "level": args.level, "boot": args.boot, "methods": res}))
        return res
    n = sum(t["n"] for t in tasks.values())
    print(f"{args.ws}: {n} held-out questions in {len(tasks)} tasks, {args.boot} paired resamples (questions "
          f"within each task), {args.level:.0%} intervals of the AUROC difference against {args.against}")
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
