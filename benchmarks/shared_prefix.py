"""Extraction with and without shared-prefix reuse (`features/shared_prefix.py`), side by side on one run.

For each checkpoint in order, the full pass (every block) and the shared-prefix pass (blocks identical to an
earlier checkpoint's replayed from its kept state) extract every task, in alternating order (A, B on one
checkpoint, B, A on the next); the stored arrays of the two must be identical, and the seconds of each are
summed per checkpoint. The first checkpoints run in full either way (the second keeps its states).

    python benchmarks/shared_prefix.py --ws demo-out-smollm2 [--json] [--labels --dtype bfloat16]

uses the workspace's checkpoints, tasks and the extraction settings its features were made with (nothing is
written). Model loading is not timed. `--labels`: the same for the multiple-choice tasks' labels (teacher-forced
log-likelihood of every choice, `HFBackend.loglik`), with the model in `--dtype` (the labels' dtype).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def compare(checkpoints, tasks, cfg, progress: bool = True) -> dict:
    """Per checkpoint: seconds of the full and of the shared-prefix extraction of every task, whether the
    arrays are identical, and how the shared-prefix pass ran (`kept` / `replayed` / `full`)."""
    from probecast.checkpoints.load import free_model, load_model
    from probecast.features.extract import extract_task
    from probecast.features.shared_prefix import PrefixStates, outcome

    states, rows = PrefixStates(), []
    for i, ckpt in enumerate(checkpoints):
        model, tok = load_model(ckpt)
        full_s = shared_s = 0.0
        identical, how = True, set()
        for task in tasks:
            plan = states.plan_extraction(model, task, cfg)
            before = None if plan is None else plan.mode
            runs = {}
            for which in (("full", "shared") if i % 2 == 0 else ("shared", "full")):
                t0 = time.perf_counter()
                runs[which] = extract_task(model, tok, task, cfg, prefix=plan if which == "shared" else None)[0]
                dt = time.perf_counter() - t0
                full_s, shared_s = (full_s + dt, shared_s) if which == "full" else (full_s, shared_s + dt)
            a, b = runs["full"], runs["shared"]
            identical &= all((a[k] is None and b[k] is None) or np.array_equal(a[k], b[k], equal_nan=True) for k in a)
            how.add(outcome(before, plan) or "full")
        rows.append({"checkpoint": ckpt.id, "full_s": full_s, "shared_s": shared_s, "identical": identical,
                     "how": sorted(how), "depth": states.depth})
        if progress:
            print(f"{ckpt.id}: full {full_s:.1f} s, shared {shared_s:.1f} s ({'/'.join(sorted(how))}), "
                  f"{'identical' if identical else 'DIFFERENT'}", flush=True)
        free_model(model)
    total_full, total_shared = sum(r["full_s"] for r in rows), sum(r["shared_s"] for r in rows)
    return {"checkpoints": rows, "full_s": total_full, "shared_s": total_shared,
            "shared_over_full": total_shared / total_full if total_full else float("nan"),
            "identical": all(r["identical"] for r in rows), "kept_mib": states.used / 2 ** 20}


def compare_labels(checkpoints, tasks, dtype: str = "float32", progress: bool = True) -> dict:
    """Per checkpoint: seconds of multiple-choice labelling of every such task with and without the shared
    prefix (alternating order), and whether the label tables are identical."""
    from probecast.checkpoints.load import free_model, load_model
    from probecast.features.shared_prefix import process_states
    from probecast.labels.backend import HFBackend
    from probecast.labels.label import label_multiple_choice

    mc = [t for t in tasks if t.is_multiple_choice]
    process_states().clear()
    rows = []
    for i, ckpt in enumerate(checkpoints):
        model, tok = load_model(ckpt, dtype=dtype)
        secs, tables = {"full": 0.0, "shared": 0.0}, {"full": [], "shared": []}
        for which in (("full", "shared") if i % 2 == 0 else ("shared", "full")):
            backend = HFBackend(model, tok, shared_prefix=which == "shared")
            t0 = time.perf_counter()
            tables[which] = [label_multiple_choice(backend, t, ckpt.id, ckpt.step) for t in mc]
            secs[which] += time.perf_counter() - t0
        same = all(a.equals(b) for a, b in zip(tables["full"], tables["shared"]))
        rows.append({"checkpoint": ckpt.id, "full_s": secs["full"], "shared_s": secs["shared"], "identical": same})
        if progress:
            print(f"{ckpt.id}: labels full {secs['full']:.1f} s, shared {secs['shared']:.1f} s, "
                  f"{'identical' if same else 'DIFFERENT'}", flush=True)
        free_model(model)
    process_states().clear()
    full, shared = sum(r["full_s"] for r in rows), sum(r["shared_s"] for r in rows)
    return {"tasks": [t.name for t in mc], "checkpoints": rows, "full_s": full, "shared_s": shared,
            "shared_over_full": shared / full if full else float("nan"), "identical": all(r["identical"] for r in rows)}


def workspace_inputs(ws_path: str):
    """The workspace's checkpoints, tasks and the extraction settings of its first feature file."""
    from probecast.checkpoints.discover import Checkpoint
    from probecast.features.extract import ExtractConfig
    from probecast.features.store import read_features_metadata
    from probecast.resolve import resolve_tasks
    from probecast.workspace import Workspace

    ws = Workspace(ws_path)
    ckpts = sorted((Checkpoint.from_record(r) for r in ws.read_checkpoints()),
                   key=lambda c: (c.step is None, c.step or 0))
    tasks = resolve_tasks(None, ws, None)
    settings = json.loads(read_features_metadata(ws, ckpts[0].id, tasks[0].name)["settings"])
    if settings.get("layers") is not None:
        settings["layers"] = tuple(settings["layers"])
    return ckpts, tasks, ExtractConfig(**settings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws", required=True, help="workspace with checkpoints and features (e.g. the real demo's)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--labels", action="store_true", help="multiple-choice labels instead of features")
    ap.add_argument("--dtype", default="float32", help="with --labels: the model's dtype (the labels' own)")
    args = ap.parse_args()
    ckpts, tasks, cfg = workspace_inputs(args.ws)
    if args.labels:
        out = compare_labels(ckpts, tasks, args.dtype, progress=not args.json)
        print(json.dumps(out) if args.json else f"labels ({', '.join(out['tasks'])}): full {out['full_s']:.1f} s, "
              f"shared prefix {out['shared_s']:.1f} s ({out['shared_over_full']:.2f}x), identical: {out['identical']}")
        return
    out = compare(ckpts, tasks, cfg, progress=not args.json)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"full {out['full_s']:.1f} s, shared prefix {out['shared_s']:.1f} s "
              f"({out['shared_over_full']:.2f}x), identical: {out['identical']}, kept {out['kept_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
