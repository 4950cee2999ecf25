"""Prediction-powered task scores on a real workspace: coverage and width of the 90 % intervals, and refits.

1. Coverage. For every test checkpoint × task of the workspace's evaluation (steps after the training ones),
   the probe (`summary.json` best_probe, as fitted by `probecast evaluate`) predicts every question; the
   truth is the mean labelled pass@1 over all of them. `--draws` random audits of n questions (uniform,
   without replacement) at each n give three intervals: PPI++ (probe + audit labels,
   `probecast.evaluation.ppi`), classical (the audit labels alone, CLT) and today's probe-only interval
   (question bootstrap widened by the evaluation's task-score error, no labels; the same for every draw).
   Also the budget rule (`--audit <half-width>`): coverage and labels spent for a target half-width.
2. Refits (a workspace with its training run in W/run, e.g. the embedded demo): for each of `--refit-probes`
   (default: the best probe's kind, and `ridge`, a hidden-state probe that drifts; `ppi_refit.py`) a probe of that
   kind is fitted on the first `--train-first` checkpoints only, then the watcher follows the run twice with
   audits every `--audit-every` checkpoints (`watch --audit-every 2`), once without and once with
   `--refit-on-drift`; printed: the mean |predicted − actual| task score over the later checkpoints for both,
   and the refit events (W/monitor/events.jsonl of the refitting copy).

    python benchmarks/ppi_coverage.py                       # demo-out (or demo-out-quick), + demo-out-smollm2
    python benchmarks/ppi_coverage.py --ws demo-out --json  # {"n": {"16": {"ppi_coverage", ...}}, ...}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.evaluation.data import feature_index, load_pairs, select
from probecast.evaluation.interval import probe_score_errors, task_score_interval
from probecast.evaluation.ppi import INTERVALS, AuditBudget, label_until, ppi_mean
from probecast.probes.base import load_probe
from probecast.workspace import Workspace

BARS = {"ppi_coverage_min": 0.87, "width_ratio_max": 0.75}


def test_scores(ws: Workspace) -> tuple[str, pd.DataFrame]:
    """(best probe, one row per test question: checkpoint, task, p, y)."""
    summary = json.loads(ws.summary_file.read_text())
    probe, test_steps = summary.get("best_probe"), set(summary.get("test_checkpoints") or [])
    if not probe or not test_steps:
        sys.exit(f"error: {ws.summary_file}: no best_probe/test_checkpoints; run `probecast evaluate` first")
    index = select(feature_index(ws), None, None, labelled=True)
    index = index[index["step"].isin(test_steps)]
    X, labels = load_pairs(ws, index, labelled=True)
    p = load_probe(ws.probe_dir(probe)).predict_proba(X)
    return probe, pd.DataFrame({"checkpoint": X.checkpoint.astype(str), "task": X.task.astype(str), "p": p,
                                "y": labels["pass1"].to_numpy(float)})


def draw_stats(p: np.ndarray, y: np.ndarray, idx: np.ndarray, truth: float, level: float) -> dict:
    """Both intervals (`INTERVALS`: finite = the default, clt = ppi_py's) of one audit draw, scored."""
    out = {"same": np.ptp(y[idx]) == 0}  # every audited label equal: a plug-in variance is 0
    for interval in INTERVALS:
        e = ppi_mean(p, y[idx], p[idx], level=level, interval=interval)
        pre = "" if interval == "finite" else f"{interval}_"
        out.update({f"{pre}ppi": e.lo <= truth <= e.hi, f"{pre}classical": e.classical_lo <= truth <= e.classical_hi,
                    f"{pre}ppi_w": e.hi - e.lo, f"{pre}classical_w": e.classical_hi - e.classical_lo,
                    f"{pre}lam": e.lam, f"{pre}eff": e.effective_labels / len(idx)})
    return out


def summarise(draws: list[dict], probe_cov: list[bool], probe_w: list[float]) -> dict:
    d = pd.DataFrame(draws)
    vary = ~d["same"].to_numpy(bool)
    out = {"probe_coverage": float(np.mean(probe_cov)), "probe_width": float(np.mean(probe_w)),
           "all_labels_equal_share": float(d["same"].mean())}
    for pre in ("", "clt_"):
        out.update({f"{pre}ppi_coverage": float(d[f"{pre}ppi"].mean()),
                    f"{pre}classical_coverage": float(d[f"{pre}classical"].mean()),
                    f"{pre}ppi_width": float(d[f"{pre}ppi_w"].mean()),
                    f"{pre}classical_width": float(d[f"{pre}classical_w"].mean()),
                    f"{pre}lam_mean": float(d[f"{pre}lam"].mean()),
                    f"{pre}effective_labels_per_label": float(d[f"{pre}eff"].mean()),
                    f"{pre}ppi_coverage_labels_vary": float(d.loc[vary, f"{pre}ppi"].mean()) if vary.any() else None})
    out["width_ratio"] = out["ppi_width"] / out["classical_width"]
    out["width_ratio_vs_clt_classical"] = out["ppi_width"] / out["clt_classical_width"]
    return out


def coverage(ws: Workspace, ns: list[int], draws: int, level: float, half_width: float, seed: int) -> dict:
    probe, rows = test_scores(ws)
    errors = probe_score_errors(ws, probe)
    rng = np.random.default_rng(seed)
    acc: dict[int, list[dict]] = {n: [] for n in ns}
    probe_cov, probe_w, budget = [], [], {"covers": [], "labels": [], "half_width": []}
    for (ckpt, task), g in rows.groupby(["checkpoint", "task"]):
        p, y = g["p"].to_numpy(), g["y"].to_numpy()
        truth = y.mean()
        lo, hi, _ = task_score_interval(p, errors.get(task), n_boot=1000, seed=seed, level=level)
        probe_cov.append(lo <= truth <= hi)
        probe_w.append(hi - lo)
        for n in ns:
            if n >= len(y):  # e.g. n = 64 on the quick demo's 60 questions per task: the cell is left out at n
                continue
            acc[n] += [draw_stats(p, y, rng.choice(len(y), n, replace=False), truth, level) for _ in range(draws)]
        for _ in range(draws):
            e, idx, _ = label_until(AuditBudget(half_width=half_width), p, lambda i: y[i], rng.permutation(len(y)),
                                    level)
            budget["covers"].append(e.lo <= truth <= e.hi)
            budget["labels"].append(len(idx))
            budget["half_width"].append(e.half_width)
    cells = rows.groupby(["checkpoint", "task"]).ngroups
    out = {"workspace": str(ws.root), "probe": probe, "level": level, "draws": draws, "cells": int(cells),
           "questions_per_cell": int(len(rows) / max(cells, 1)), "interval": "finite",
           "n": {str(n): summarise(a, probe_cov, probe_w) for n, a in acc.items() if a},
           "cells_by_n": {str(n): len(a) // draws for n, a in acc.items()}, "n_skipped": [n for n in ns if not acc[n]]}
    out["budget"] = {"half_width_target": half_width, "coverage": float(np.mean(budget["covers"])),
                     "labels_mean": float(np.mean(budget["labels"])), "labels_max": int(np.max(budget["labels"])),
                     "half_width_mean": float(np.mean(budget["half_width"]))}
    return out


def print_coverage(res: dict) -> list[str]:
    print(f"\n{res['workspace']}: probe {res['probe']}, {res['cells']} test checkpoint × task cells "
          f"(~{res['questions_per_cell']} questions each), {res['draws']} audit draws per n, nominal {res['level']:.0%}")
    cells = res.get("cells_by_n", {})
    if any(c < res["cells"] for c in cells.values()):  # an audit of n needs a cell of more than n questions
        print("cells scored per n (those with more questions than n): "
              + ", ".join(f"n={n}: {c}" for n, c in cells.items()))
    print(f"{'n':>4} {'interval':>8} {'PPI cov':>8} {'classical cov':>14} {'probe-only cov':>15} {'PPI width':>10} "
          f"{'classical width':>16} {'probe width':>12} {'ratio':>6} {'mean λ':>7} {'worth':>6} {'equal labels':>13} "
          f"{'PPI cov when labels vary':>25}")
    fails = [f"n={n}: not measured (no cell has more than {n} questions)" for n in res.get("n_skipped", [])]
    for n, r in res["n"].items():
        for pre, name in (("", "finite"), ("clt_", "clt")):
            vary = r[f"{pre}ppi_coverage_labels_vary"]
            print(f"{n:>4} {name:>8} {r[pre + 'ppi_coverage']:8.3f} {r[pre + 'classical_coverage']:14.3f} "
                  f"{r['probe_coverage']:15.3f} {r[pre + 'ppi_width']:10.3f} {r[pre + 'classical_width']:16.3f} "
                  f"{r['probe_width']:12.3f} {r[pre + 'ppi_width'] / r[pre + 'classical_width']:6.2f} "
                  f"{r[pre + 'lam_mean']:7.2f} {r[pre + 'effective_labels_per_label']:5.2f}x "
                  f"{r['all_labels_equal_share']:13.3f} {'-' if vary is None else format(vary, '.3f'):>25}")
        print(f"{'':>4} finite PPI width / clt classical width: {r['width_ratio_vs_clt_classical']:.2f}")
        if r["ppi_coverage"] < BARS["ppi_coverage_min"]:
            fails.append(f"n={n}: PPI coverage {r['ppi_coverage']:.3f} < {BARS['ppi_coverage_min']}")
        if r["width_ratio"] > BARS["width_ratio_max"]:
            fails.append(f"n={n}: PPI width {r['width_ratio']:.2f} x classical > {BARS['width_ratio_max']}")
    b = res["budget"]
    print(f"budget rule (finite interval), target half-width {b['half_width_target']}: coverage {b['coverage']:.3f}, "
          f"labels {b['labels_mean']:.1f} on average (max {b['labels_max']}), half-width {b['half_width_mean']:.3f}")
    print("bars (finite interval: PPI coverage >= 0.87 at every n, PPI width <= 0.75 x classical): "
          + ("met" if not fails else "NOT met: " + "; ".join(fails)))
    return fails


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws", action="append", help="workspace(s) (default: demo-out or demo-out-quick, and "
                    "demo-out-smollm2 when present)")
    ap.add_argument("--n", default="16,32,64", help="audit sizes")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--half-width", type=float, default=0.08, help="target of the budget rule")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-refit", action="store_true", help="skip the refit experiment")
    ap.add_argument("--train-first", type=int, default=3, help="refit experiment: probe fitted on the first K")
    ap.add_argument("--audit-every", type=int, default=2)
    ap.add_argument("--audit-questions", type=int, default=16)
    ap.add_argument("--refit-probes", default="best,ridge", help="refit experiment: probe kinds, comma-separated "
                    "('best' = the evaluation's best probe; `ridge`, hidden states only, is a probe that drifts)")
    ap.add_argument("--keep", type=Path, help="refit experiment: keep the watched workspaces in KEEP/<probe>/no_refit "
                    "and KEEP/<probe>/refit (e.g. for `probecast report --ws KEEP/ridge/refit`)")
    ap.add_argument("--json", action="store_true", help="print one JSON object (the first workspace's numbers "
                    "at the top level, others under 'workspaces')")
    args = ap.parse_args()
    paths = args.ws or [p for p in (["demo-out"] if Path("demo-out/summary.json").exists() else ["demo-out-quick"])
                        + ["demo-out-smollm2"] if Path(p, "summary.json").exists()]
    if not paths:
        sys.exit("error: no workspace: give --ws DIR (e.g. one made by `probecast demo --out demo-out`)")
    ns = [int(x) for x in args.n.split(",")]
    results = [coverage(Workspace(p, create=False), ns, args.draws, args.level, args.half_width, args.seed)
               for p in paths]
    out = dict(results[0])
    if len(results) > 1:
        out["workspaces"] = {r["workspace"]: r for r in results[1:]}
    ws0 = Workspace(paths[0], create=False)
    if not args.no_refit and (ws0.root / "run").is_dir():
        from ppi_refit import probe_kinds, refit_by_kind

        kinds = probe_kinds(args.refit_probes, out["probe"])
        if not kinds:
            sys.exit(f"error: --refit-probes {args.refit_probes!r}: no probe kind; e.g. best,ridge")
        by_kind = refit_by_kind(ws0, kinds, args.train_first, args.audit_every, args.audit_questions,
                                quiet=args.json, keep=args.keep)
        out["refit"] = by_kind[kinds[0]]  # the first kind (the best probe by default)
        out["refit_by_probe"] = by_kind
    if args.json:
        print(json.dumps(out))
        return
    for r in results:
        print_coverage(r)
    if "refit_by_probe" in out:
        from ppi_refit import print_refit

        for r in out["refit_by_probe"].values():
            print_refit(r)


if __name__ == "__main__":
    main()
