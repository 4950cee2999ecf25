"""The real demo's three README tables, written from its summary.json: movement, earlier→later, in-checkpoint.

    python benchmarks/real_tables.py --ws demo-out-smollm2

Prints Markdown: mean pass@1 per task per checkpoint (`demo.task_score_by_checkpoint`), then each protocol's
methods by mean AUROC (per task, the mean, its 90 % question-bootstrap interval; earlier→later also the task-score
error), every figure as `probecast demo --model smollm2` stored it. Nothing is recomputed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def cell(x, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def movement_table(s: dict) -> list[str]:
    by_task = s["demo"]["task_score_by_checkpoint"]
    steps = sorted({int(k) for v in by_task.values() for k in v})
    out = ["| task | " + " | ".join(f"step {k}" for k in steps) + " |", "|---|" + "--:|" * len(steps)]
    for task in sorted(by_task):
        out.append(f"| {task} | " + " | ".join(cell(by_task[task].get(str(k))) for k in steps) + " |")
    return out


def method_table(methods: dict[str, dict], tasks: list[str], kinds: dict[str, str], error: bool) -> list[str]:
    head = ["method", "inputs", *tasks, "**mean**", "90 % CI"] + (["task-score error"] if error else [])
    out = ["| " + " | ".join(head) + " |", "|---|---|" + "--:|" * (len(head) - 2)]
    ranked = sorted(methods.items(), key=lambda kv: -(kv[1].get("auroc_mean") or -1.0))
    for name, m in ranked:
        ci = m.get("auroc_ci") or [None, None]
        row = [f"{name} ({kinds[name]})" if name in kinds else name, ", ".join(m.get("inputs") or [])]
        row += [cell((m.get("auroc_by_task") or {}).get(t)) for t in tasks]
        row += [f"**{cell(m.get('auroc_mean'), 3)}**", f"[{cell(ci[0])}, {cell(ci[1])}]"]
        row += [cell(m.get("task_abs_err_mean"), 3)] if error else []
        out.append("| " + " | ".join(row) + " |")
    return out


def tables(s: dict) -> str:
    tasks = sorted(s["tasks"])
    later = {**s["probes"], **s["baselines"]}
    kinds = {**{n: "probe" for n in s["probes"]}, **{n: "baseline" for n in s["baselines"]}}
    mv = s["demo"]["movement"]
    lines = ["Movement (mean pass@1 per task and checkpoint; `demo.movement`: "
             f"{mv['n_checkpoints']} checkpoints, {mv['tasks_rising_0.2']} tasks rising ≥ 0.20, flipped fraction "
             f"{mv['flipped_fraction']:.3f}, best − worst {mv['best_minus_worst']:.2f}):", "", *movement_table(s), "",
             f"Earlier predicts later (trained on steps {', '.join(map(str, s['train_checkpoints']))}; tested on "
             f"steps {', '.join(map(str, s['test_checkpoints']))}, held-out questions; best probe "
             f"`{s.get('best_probe')}`):", "", *method_table(later, tasks, kinds, error=True), ""]
    if "in_checkpoint" in s:
        p = s["in_checkpoint"]["protocol"]
        lines += [f"In-checkpoint ({p['n_folds']} stratified question folds per checkpoint, fold seed {p['seed']}):",
                  "", *method_table(s["in_checkpoint"]["methods"], tasks, {}, error=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", required=True, type=Path, help="the real demo's output folder (its summary.json)")
    args = ap.parse_args(argv)
    path = args.ws / "summary.json"
    try:
        s = json.loads(path.read_text())
        print(tables(s))
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"error: {path}: cannot read it ({e}); give the folder of `probecast demo --model smollm2 --out DIR`")
    except KeyError as e:
        sys.exit(f"error: {path}: no {e} key; run `probecast demo --model smollm2 --out {args.ws}` to complete it")


if __name__ == "__main__":
    main()
