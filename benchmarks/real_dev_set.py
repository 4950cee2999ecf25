"""A development question set for the real demo's run: choose in-checkpoint settings without its test questions.

    python benchmarks/real_dev_set.py --demo demo-out-smollm2 --out dev-ws [--questions 40 --piqa 80]
    python benchmarks/real_dev_set.py --demo demo-out-smollm2 --out dev-ws --compare linear,linear:task_intercepts=true

Every number the real demo's in-checkpoint table reports is measured on its test questions, at every checkpoint,
so no setting may be chosen by looking at it. This builds a second, disjoint question set on the same run: per
skill `--questions` new questions (the skill generator at seed 2; the demo's test questions use seed 0 and its
fine-tuning examples seed 1, and every text of either is excluded; `mul`, `weekday` and `units` have only
~200–230 distinct questions, all in the demo's two files, so they are left out with a note) and PIQA validation questions
`--piqa-offset`..`--piqa-offset + --piqa` (the demo labels the first 80). GSM8K is left out: the demo's 8
questions hold one success per checkpoint, there is nothing to choose on. The set is labelled and extracted
on every checkpoint of the demo's run with the demo's own settings (4 samples at temperature 1, bfloat16
sampling, the same features) into `--out`, a workspace of its own (resumable, like every workspace).

`--questions 0` builds PIQA alone (loglik labels: minutes, not the skills' sampling; how session 24 chose
`last_contrast`).

`--compare` then runs the demo's in-checkpoint protocol on the dev workspace for each probe spec
(`name` or `name:key=value:key=value`, on top of the demo's in-checkpoint parameters for that probe) at outer
fold seeds 0..`--seeds`-1 and prints each spec's mean AUROC per seed, over seeds, and per task.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

DEV_SEED = 2  # the demo's test questions: seed 0, its fine-tuning examples: seed 1


def write_dev_tasks(demo: Path, out: Path, skills: list[str], n: int) -> list[Path]:
    """Per skill, n questions from seed DEV_SEED none of whose texts is in the demo's test or train files."""
    from probecast.errors import ProbecastError
    from probecast.tasks.skills import SKILLS, _write, generate, header

    paths = []
    if not skills:
        raise ProbecastError(f"{demo / 'tasks'}: no skill's <name>.train.jsonl; --demo must be a finished "
                             f"`probecast demo --model smollm2` output")
    for name in skills:
        used = set()
        for f in (demo / "tasks" / f"{name}.jsonl", demo / "tasks" / f"{name}.train.jsonl"):
            if not f.is_file():
                raise ProbecastError(f"{f}: no such file; --demo must be a finished `probecast demo --model smollm2` "
                                     f"output (its tasks/ folder holds each skill's test and train files)")
            used |= {json.loads(line).get("question") for line in f.read_text().splitlines()[1:] if line.strip()}
        rows = generate(SKILLS[name], n, DEV_SEED, exclude=used)
        if len(rows) < n:  # the demo's test + fine-tuning files already hold (nearly) every question of the skill
            print(f"note: {name}: only {len(rows)} new questions exist outside the demo's {len(used)}; left out",
                  file=sys.stderr)
            continue
        paths.append(_write(out / "dev_tasks" / f"{name}.jsonl", header(SKILLS[name]), rows))
    if not paths:
        raise ProbecastError(f"no skill of {skills} has {n} questions outside the demo's test and fine-tuning files; "
                             f"lower --questions")
    return paths


def build(demo: Path, out: Path, n: int, piqa: int, piqa_offset: int, progress: bool = True) -> None:
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.demos.real import RealDemoConfig
    from probecast.features.extract import ExtractConfig
    from probecast.features.workspace_features import extract_workspace
    from probecast.labels.label import LabelConfig
    from probecast.labels.workspace_labels import label_workspace
    from probecast.resolve import resolve_tasks
    from probecast.tasks.loaders import load_piqa
    from probecast.tasks.registry import _benchmark_dir
    from probecast.workspace import Workspace

    from probecast.tasks.skills import SKILLS

    cfg = RealDemoConfig()
    skills = sorted(n for n in SKILLS if (demo / "tasks" / f"{n}.train.jsonl").is_file())  # the demo's skills
    ws = Workspace(out)
    ckpts = discover_checkpoints(Workspace(demo).run_dir)
    ws.add_checkpoints(c.to_record() for c in ckpts)
    files = write_dev_tasks(demo, out, skills, n) if n else []  # --questions 0: PIQA alone (labelled fast)
    tasks = resolve_tasks(",".join(str(p) for p in files), ws, None, remember=True) if files else []
    if piqa:
        full = load_piqa(_benchmark_dir("piqa"), limit=piqa_offset + piqa)
        tasks.append(replace(full, questions=full.questions[piqa_offset:]))
    label_workspace(ws, ckpts, tasks, LabelConfig(samples=cfg.samples, greedy=False, batch_size=cfg.batch_size),
                    dtype=cfg.label_dtype, progress=progress)
    extract_workspace(ws, ckpts, tasks, ExtractConfig(tail_tokens=cfg.tail_tokens, batch_size=cfg.batch_size),
                      progress=progress)


def _number(v) -> float:
    return float("nan") if v is None else float(v)  # summaries hold None where no stratum had both classes


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def compare(out: Path, specs: list[str], seeds: int, folds: int) -> dict:
    from probecast.evaluation.in_checkpoint import IN_CHECKPOINT_PARAMS
    from probecast.evaluation.data import labelled_pairs
    from probecast.evaluation.in_checkpoint import InCheckpointConfig, evaluate_in_checkpoint
    from probecast.probes.base import parse_probe_spec
    from probecast.workspace import Workspace

    ws = Workspace(out)
    X, labels = labelled_pairs(ws)
    y = labels["pass1"].to_numpy(float)
    result = {}
    for spec in specs:
        name, params = parse_probe_spec(spec)
        params = {name: IN_CHECKPOINT_PARAMS.get(name, {}) | params}
        runs = [evaluate_in_checkpoint(X, y, [name], InCheckpointConfig(n_folds=folds, seed=s, bootstrap=None), params,
                                       show_progress=False)["methods"][name] for s in range(seeds)]
        means = np.array([_number(r["auroc_mean"]) for r in runs])
        per_task = {t: _mean([_number(r["auroc_by_task"].get(t)) for r in runs]) for t in sorted(runs[0]["auroc_by_task"])}
        result[spec] = {"auroc_mean": float(means.mean()), "sd": float(means.std(ddof=1)) if seeds > 1 else 0.0,
                        "by_seed": means.tolist(), "auroc_by_task": per_task}
        print(f"{spec:36s} {means.mean():.3f} ± {result[spec]['sd']:.3f}  seeds " + " ".join(f"{m:.3f}" for m in means)
              + "   " + " ".join(f"{t} {v:.2f}" for t, v in per_task.items()), flush=True)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", required=True, help="a finished `probecast demo --model smollm2` output folder")
    ap.add_argument("--out", required=True, help="the dev workspace (created; reused when it exists)")
    ap.add_argument("--questions", type=int, default=40, help="new questions per skill (0: no skill, PIQA alone)")
    ap.add_argument("--piqa", type=int, default=80, help="PIQA validation questions (0: none)")
    ap.add_argument("--piqa-offset", type=int, default=80, help="the first PIQA question used (the demo's come before)")
    ap.add_argument("--compare", default="", help="probe specs to compare in-checkpoint, comma-separated")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    from probecast.errors import ProbecastError

    demo, out = Path(args.demo).resolve(), Path(args.out).resolve()
    if not (demo / "run").is_dir():
        raise ProbecastError(f"{demo}: no run/ folder; --demo must be a `probecast demo --model smollm2` output")
    if min(args.seeds, args.folds - 1) < 1 or min(args.questions, args.piqa, args.piqa_offset) < 0 or \
            args.questions + args.piqa == 0:
        raise ProbecastError("--seeds must be >= 1, --folds >= 2, --questions, --piqa and --piqa-offset >= 0, "
                             "and --questions or --piqa > 0")
    from probecast.quiet import quiet_dependencies

    with quiet_dependencies():  # transformers' deprecation notices, as the CLI hides them
        build(demo, out, args.questions, args.piqa, args.piqa_offset)
    from probecast.probes.base import split_probe_specs

    return compare(out, split_probe_specs(args.compare), args.seeds, args.folds) if args.compare else {}


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)  # a bad demo folder or option: one line, exit 2
