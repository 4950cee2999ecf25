"""How well *could* any predictor score on the real demo's test split? A label-noise ceiling for issue 12's lines.

A generative label is pass@1 = c/n from n samples at temperature 1, so even a predictor that knew each
question's true success probability p exactly would not rank the binarised labels (pass@1 >= 0.5) perfectly,
and its task score would miss the sampled one by the labels' own noise. This benchmark measures that bound on
the questions and checkpoints the demo scores: for every scored row, p is drawn from the posterior of the
row's own labels (Beta(c + 1/2, n - c + 1/2), Jeffreys), the labels are redrawn as c' ~ Binomial(n, p), and the
oracle predicts p; the rows go through the demo's own scoring (`evaluation.scoring.summarise`), so the
figures aggregate exactly as `auroc_mean` and `task_abs_err_mean` do. Multiple-choice tasks, labelled by
log-likelihood (n = 1, no sampling), are deterministic: there the oracle is exact (AUROC 1, error 0).
The mean over `--draws` replications is printed per task beside the bars (AUROC 0.80 for the best method,
task-score error 0.03) and the demo's best figures.

    python benchmarks/real_ceiling.py --ws DIR [--draws 200] [--json]

`--protocol in-checkpoint` does the same on every question at every labelled checkpoint (what the
in-checkpoint protocol scores).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd


def scored_rows(ws: Path, protocol: str) -> pd.DataFrame:
    """The rows a protocol scores, with the labels' n and c: task, checkpoint, step, question_id, n, c, mc."""
    from probecast.workspace import Workspace

    labels = Workspace(ws).read_labels()
    labels = labels.assign(mc=labels["gold_prob"].notna() if "gold_prob" in labels else False)
    keep = ["task", "checkpoint", "step", "question_id", "n", "c", "pass1", "mc"]
    if protocol == "in-checkpoint":
        return labels[keep].reset_index(drop=True)
    pred = pd.read_parquet(ws / "evaluation" / "predictions.parquet")
    test = pred[pred["method"] == pred["method"].iloc[0]][["task", "checkpoint", "question_id"]]
    return test.merge(labels[keep], on=["task", "checkpoint", "question_id"], how="left").reset_index(drop=True)


def ceiling(rows: pd.DataFrame, draws: int, seed: int = 0) -> dict:
    from probecast.evaluation.scoring import per_checkpoint, summarise

    rng = np.random.default_rng(seed)
    n, c, mc = rows["n"].to_numpy(int), rows["c"].to_numpy(int), rows["mc"].to_numpy(bool)
    base = rows[["task", "checkpoint", "step", "question_id"]].copy()
    per = []
    for _ in range(draws):
        p = np.where(mc, rows["pass1"].to_numpy(float), rng.beta(c + 0.5, n - c + 0.5))
        y = np.where(mc, p, rng.binomial(n, p) / np.maximum(n, 1))
        r = base.assign(p=p, pass1=y)
        s = summarise(r, per_checkpoint(r, n_boot=2))  # the score intervals are not used here
        per.append((s["auroc_mean"], s["task_abs_err_mean"], s["auroc_by_task"], s["task_abs_err_by_task"]))
    tasks = sorted(per[0][2])

    def mean(values) -> float:  # undefined (one class everywhere) comes back as None
        v = np.array([np.nan if x is None else x for x in values], dtype=float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    return {"auroc_mean": mean(x[0] for x in per), "task_abs_err_mean": mean(x[1] for x in per),
            "auroc_by_task": {t: mean(x[2].get(t) for x in per) for t in tasks},
            "task_abs_err_by_task": {t: mean(x[3].get(t) for x in per) for t in tasks},
            "rows": len(rows), "draws": draws}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", type=Path, required=True, help="a real demo's output folder (probecast demo --model smollm2)")
    ap.add_argument("--protocol", choices=("earlier-later", "in-checkpoint"), default="earlier-later")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    out = ceiling(scored_rows(a.ws, a.protocol), a.draws) | {"protocol": a.protocol, "ws": str(a.ws)}
    summary = json.loads((a.ws / "summary.json").read_text())
    if a.protocol == "in-checkpoint":
        methods = summary.get("in_checkpoint", {}).get("methods", {})
        out["demo_best"] = max(((m, v["auroc_mean"]) for m, v in methods.items()), key=lambda x: x[1], default=None)
    else:
        every = {**summary.get("probes", {}), **summary.get("baselines", {})}
        out["demo_best"] = max(((m, v["auroc_mean"]) for m, v in every.items() if v.get("auroc_mean") is not None),
                               key=lambda x: x[1], default=None)
        out["demo_best_task_abs_err"] = min(((m, v["task_abs_err_mean"]) for m, v in every.items()
                                             if v.get("task_abs_err_mean") is not None), key=lambda x: x[1], default=None)
    if a.json:
        print(json.dumps(out, indent=2))
        return out
    print(f"{a.protocol}: {out['rows']} scored rows, {a.draws} label redraws; oracle = the true P(success)")
    print(f"  {'task':12s} {'oracle AUROC':>13s} {'oracle |err|':>13s}")
    for t in out["auroc_by_task"]:
        print(f"  {t:12s} {out['auroc_by_task'][t]:13.3f} {out['task_abs_err_by_task'].get(t, float('nan')):13.3f}")
    print(f"  {'mean':12s} {out['auroc_mean']:13.3f} {out['task_abs_err_mean']:13.3f}   (bars: AUROC >= 0.80, "
          f"error <= 0.03)")
    print(f"  the demo's best: AUROC {out['demo_best']}" + (f", task-score error {out['demo_best_task_abs_err']}"
                                                          if "demo_best_task_abs_err" in out else ""))
    return out


if __name__ == "__main__":
    main()
