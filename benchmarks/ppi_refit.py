"""The refit half of `ppi_coverage.py`: does `watch --refit-on-drift` lower the task-score error?

Run for two probe kinds by default (`--probe best,ridge`): the evaluation's best probe, and `ridge`, a pure
hidden-state probe — fixed weights reading the states of a model that keeps training, the case refits are for. On
a run where the best probe does not drift (session 27's embedded demo: the early `hybrid` is calibrated at every
later checkpoint and the drift test stays silent) the first row shows that refits cost nothing and the second
that they catch a probe that does drift (`ridge` was added to the default after seeing the first; measured once).

A copy of the workspace keeps labels and features of the first K checkpoints only (the rest of the labels
stay in the original, as the truth); a probe of each kind (with the evaluation's parameters for it, when it
was fitted there) is fitted on them. The watcher then follows the training run (W/run) in two further copies,
with audits every M checkpoints of `--audit-questions` questions per task: without refits, and with
`refit_on_drift`. Both see the same audits (same seeds), so the only difference is the refit.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.monitor.audit import AuditConfig
from probecast.monitor.evaluator import Monitor, MonitorConfig
from probecast.monitor.refit import events_path
from probecast.monitor.sinks import jsonl_path, read_jsonl
from probecast.monitor.watcher import WatchConfig, Watcher
from probecast.probes.base import load_probe, make_probe
from probecast.workspace import Workspace, safe_name


DEFAULT_PROBES = ("best", "ridge")


def probe_kinds(spec: str, best: str | None) -> list[str]:
    """`--probe` names in order, 'best' replaced by the evaluation's best probe, each once."""
    out: list[str] = []
    for name in (x.strip() for x in spec.split(",")):
        kind = best if name == "best" else name
        if kind and kind not in out:
            out.append(kind)
    return out


def refit_by_kind(ws: Workspace, kinds: list[str], train_first: int, audit_every: int, audit_questions: int,
                  quiet: bool = False, keep: Path | None = None) -> dict[str, dict]:
    """`refit_experiment` for each kind, in order (`keep`: each kind's workspaces in keep/<kind>/)."""
    return {k: refit_experiment(ws, k, train_first, audit_every, audit_questions, quiet=quiet,
                                keep=None if keep is None else keep / k) for k in kinds}


def early_workspace(src: Workspace, dst: Path, keep: list[str]) -> Workspace:
    """checkpoints.json, tasks.json, labels and features of the `keep` checkpoints."""
    dst.mkdir(parents=True)
    for name in ("checkpoints.json", "tasks.json"):
        if (src.root / name).exists():
            shutil.copy2(src.root / name, dst / name)
    for sub in ("labels", "features"):
        for c in keep:
            if (src.root / sub / safe_name(c)).is_dir():
                shutil.copytree(src.root / sub / safe_name(c), dst / sub / safe_name(c))
    return Workspace(dst, create=False)


def actual_scores(ws: Workspace) -> dict[tuple[str, str], float]:
    out = {}
    for path in sorted((ws.root / "labels").glob("*/*.parquet")):
        df = pd.read_parquet(path, columns=["checkpoint", "task", "pass1"])
        if len(df):
            out[(str(df["checkpoint"].iloc[0]), str(df["task"].iloc[0]))] = float(df["pass1"].mean())
    return out


def run_watch(ws: Workspace, run_dir: Path, probe: str, audit: AuditConfig, refit: bool, quiet: bool) -> list[dict]:
    from rich.console import Console

    cfg = MonitorConfig(probe=probe, sinks=("jsonl",), run_name="bench", n_boot=200, save_features=True,
                        audit=audit, refit_on_drift=refit)
    console = Console(stderr=True, quiet=quiet)
    Watcher(Monitor(ws, cfg), run_dir, WatchConfig(once=True, settle=0.5), console=console).run()
    return read_jsonl(jsonl_path(ws))


def refit_experiment(ws: Workspace, best: str, train_first: int, audit_every: int, audit_questions: int,
                     quiet: bool = False, keep: Path | None = None) -> dict:
    """`keep`: also copy the two watched workspaces to keep/no_refit and keep/refit (for `probecast report`)."""
    truth = actual_scores(ws)
    steps = {c: s for c, s in ((r["id"], r.get("step") or 0) for r in ws.read_checkpoints())}
    labelled = sorted({c for c, _ in truth}, key=lambda c: steps.get(c, 0))
    early = labelled[:train_first]
    template = load_probe(ws.probe_dir(best)) if (ws.probe_dir(best) / "config.json").exists() else make_probe(best)
    audit = AuditConfig(every=audit_every, questions=audit_questions)
    out: dict = {"train_checkpoints": early, "probe_kind": template.name, "audit_every": audit_every,
                 "audit_questions": audit_questions}
    with tempfile.TemporaryDirectory(prefix="ppi-refit-") as tmp:
        base = early_workspace(ws, Path(tmp) / "base", early)
        from probecast.evaluation.data import feature_index, load_pairs, select

        X, labels = load_pairs(base, select(feature_index(base), None, None, labelled=True), labelled=True)
        make_probe(template.name, **template.get_params()).fit(X, labels["pass1"].to_numpy(float)).save(
            base.probe_dir("early"))
        for mode, refit in (("no_refit", False), ("refit", True)):
            dst = Path(tmp) / mode
            shutil.copytree(base.root, dst)
            w = Workspace(dst, create=False)
            recs = [r for r in run_watch(w, ws.root / "run", "early", audit, refit, quiet)
                    if r["checkpoint"] not in early and (r["checkpoint"], r["task"]) in truth]
            err = [abs(r["pred_pass1"] - truth[(r["checkpoint"], r["task"])]) for r in recs]
            ppi = [abs(r["ppi_estimate"] - truth[(r["checkpoint"], r["task"])]) for r in recs if "ppi_estimate" in r]
            out[mode] = {"mean_abs_error": float(np.mean(err)), "cells": len(err),
                         "audited_ppi_abs_error": float(np.mean(ppi)) if ppi else None,
                         "audited_probe_abs_error": float(np.mean([abs(r["pred_pass1"] - truth[(r["checkpoint"], r["task"])])
                                                                   for r in recs if "ppi_estimate" in r]))
                         if ppi else None,
                         "checkpoints": sorted({r["checkpoint"] for r in recs}, key=lambda c: steps.get(c, 0)),
                         "versions": sorted({r.get("probe_version", "early") for r in recs})}
            if keep is not None:
                shutil.copytree(dst, Path(keep) / mode, dirs_exist_ok=True)
            if refit:
                path = events_path(w)
                out["events"] = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return out


def print_refit(r: dict) -> None:
    print(f"\nrefit experiment: {r['probe_kind']} probe fitted on {', '.join(r['train_checkpoints'])}; watcher audits "
          f"every {r['audit_every']} checkpoints ({r['audit_questions']} questions per task)")
    for mode in ("no_refit", "refit"):
        m = r[mode]
        ppi = "" if m["audited_ppi_abs_error"] is None else (
            f"; at audited checkpoints: probe {m['audited_probe_abs_error']:.3f}, PPI {m['audited_ppi_abs_error']:.3f}")
        print(f"  {mode:9s}: mean |predicted - actual| task score over {m['cells']} later checkpoint x task "
              f"cells {m['mean_abs_error']:.4f}{ppi} (versions {', '.join(m['versions'])})")
    for e in r.get("events", []):
        print(f"  refit at {e['checkpoint']} (step {e['step']}): {e['from']} -> {e['to']}, tasks {e['tasks']}, "
              f"{e['rows']} rows ({e['audit_rows']} from audits)")
    verdict = r["refit"]["mean_abs_error"] < r["no_refit"]["mean_abs_error"]
    print(f"  refits {'lower' if verdict else 'do NOT lower'} the mean absolute task-score error "
          f"({r['refit']['mean_abs_error']:.4f} vs {r['no_refit']['mean_abs_error']:.4f})")


def main() -> None:
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="Does `watch --refit-on-drift` lower the task-score error? (the refit "
                                 "half of ppi_coverage.py, alone)")
    ap.add_argument("--ws", default="demo-out", help="workspace with an evaluation and its training run in W/run")
    ap.add_argument("--train-first", type=int, default=3, help="probe fitted on the first K labelled checkpoints")
    ap.add_argument("--audit-every", type=int, default=2)
    ap.add_argument("--audit-questions", type=int, default=16)
    ap.add_argument("--keep", type=Path, help="keep the watched workspaces in KEEP/<probe>/no_refit and KEEP/<probe>/refit")
    ap.add_argument("--probe", default=",".join(DEFAULT_PROBES),
                    help="probe kinds refitted, comma-separated; 'best' = the evaluation's best probe "
                         f"(default: {','.join(DEFAULT_PROBES)})")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    ws = Workspace(args.ws, create=False)
    if not ws.summary_file.exists() or not (ws.root / "run").is_dir():
        sys.exit(f"error: {ws.root}: needs summary.json (probecast evaluate) and the training run in run/ "
                 f"(a workspace made by `probecast demo`)")
    best = json.loads(ws.summary_file.read_text()).get("best_probe")
    kinds = probe_kinds(args.probe, best)
    if not kinds:
        sys.exit(f"error: --probe {args.probe!r}: no probe kind ('best' needs a best_probe in {ws.summary_file}; "
                 f"run `probecast evaluate` first)")
    res = refit_by_kind(ws, kinds, args.train_first, args.audit_every, args.audit_questions, quiet=args.json,
                        keep=args.keep)
    if args.json:
        print(json.dumps(res))
    else:
        for r in res.values():
            print_refit(r)


if __name__ == "__main__":
    main()
