"""How the in-checkpoint AUROC grows with the labelled questions a probe is trained on (a learning curve).

    python benchmarks/in_checkpoint_rows.py --ws demo-out-smollm2 --dev dev-ws
        [--methods ridge,lens_ridge,text_difficulty]
        [--fractions 0.25,0.5,1] [--seeds 3] [--plot rows.png] [--json rows.json]

The real demo's in-checkpoint protocol (`evaluation.in_checkpoint`: per checkpoint, 5 outer folds of the demo's
questions stratified by task and label, the demo's per-method settings) with the *training* side varied and the
test folds unchanged: each outer fold's training questions are subsampled to `--fractions` of themselves
(stratified by task × label, seeded), and, with `--dev` (the dev workspace of `benchmarks/real_dev_set.py`:
new questions of the same run, labelled and extracted the same way, none of them a test question), also
together with the same fraction of that checkpoint's dev questions ("0.5+dev": half of both). If only the
number of training questions matters, the "+dev" curve continues the other one at the same x. "swap" trains
on the full training folds with the rows of the dev set's tasks replaced by as many dev rows per task and label:
the same count from the other question set. Run it both ways (`--ws DEV --dev DEMO` too): if the two sets are
interchangeable as training data, "swap" scores what the own folds score in both directions. The AUROC is
pooled out of fold per task and checkpoint as the protocol does, and averaged over the tasks the dev set
covers (`list_last`, `word_add`, `word_sub`, PIQA: the rows whose training questions it adds to) and over all
tasks. Nothing is chosen here: it says whether the in-checkpoint line is missed for want of labelled questions
(the curve still rising at the demo's size) or of signal in the hidden states (flat). With `--ws` a dev
workspace and `--dev` the demo's, the roles swap (the dev questions tested, the demo's added).
`--pool-checkpoints` adds "pool": each fold trained on its training questions at *every* labelled checkpoint (the
test fold's questions at none), item 4's "pooling several labelled checkpoints" inside the in-checkpoint split.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def strata(rows: np.ndarray, tasks: np.ndarray, y: np.ndarray):
    """(task, label) and the rows of each task × (y >= 0.5) stratum of `rows`, in a fixed order."""
    for t in np.unique(tasks[rows]):
        for c in (False, True):
            yield (t, c), rows[(tasks[rows] == t) & ((y[rows] >= 0.5) == c)]


def stratified_subsample(rows: np.ndarray, tasks: np.ndarray, y: np.ndarray, fraction: float,
                         rng: np.random.Generator) -> np.ndarray:
    """`fraction` of `rows` in every task × (y >= 0.5) stratum (at least one row of a non-empty stratum)."""
    if fraction >= 1:
        return rows
    keep = [rng.choice(s, max(1, int(round(fraction * len(s)))), replace=False)
            for _, s in strata(rows, tasks, y) if len(s)]
    return np.sort(np.concatenate(keep))


def matched_rows(pool: np.ndarray, pool_tasks: np.ndarray, pool_y: np.ndarray, like: np.ndarray, tasks: np.ndarray,
                 y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows of `pool` with as many per task × (y >= 0.5) stratum as `like` has (all of a smaller stratum)."""
    available = dict(strata(pool, pool_tasks, pool_y))
    keep = []
    for key, s in strata(like, tasks, y):
        p = available.get(key, pool[:0])
        keep.append(rng.choice(p, min(len(s), len(p)), replace=False))
    return np.sort(np.concatenate(keep)).astype(int)


def learning_curve_rows(X, y, dev, method: str, params: dict, fraction: float, mode: str, seed: int,
                        n_folds: int) -> pd.DataFrame:
    """Out-of-fold P(success) of one method per checkpoint, trained on a fraction of the training folds
    (`own`), plus the same fraction of the dev questions (`dev`), or (`swap`) with the training-fold rows of the
    dev set's tasks replaced by as many dev rows per task and label, or (`pool`) on the training folds' questions
    at every checkpoint (a test question is in no checkpoint's training rows)."""
    from probecast.features.featureset import FeatureSet
    from probecast.probes.base import make_probe
    from probecast.probes.inputs import task_folds

    rng = np.random.default_rng(seed + 1000)
    steps, qids = X.step.astype(int), X.question_ids.astype(str)
    if dev is not None:
        dev_steps, dev_tasks = dev[0].step.astype(int), dev[0].task.astype(str)
    out = []
    for step in sorted(set(steps)):
        m = steps == step
        Xc, yc = X.subset(m), y[m]
        tasks = Xc.task.astype(str)
        fold = task_folds(tasks, yc, n_folds, seed)  # the protocol's outer folds (`in_checkpoint.out_of_fold`)
        p = np.full(len(Xc), np.nan)
        for k in range(n_folds):
            test = fold == k
            train = stratified_subsample(np.flatnonzero(~test), tasks, yc, fraction, rng)
            if mode == "own":
                X_tr, y_tr = Xc.subset(train), yc[train]
            elif mode == "pool":
                rows = np.isin(qids, qids[m][train])
                X_tr, y_tr = X.subset(rows), y[rows]
            else:
                d = np.flatnonzero(dev_steps == step)
                if mode == "dev":  # the same fraction of the dev questions of this checkpoint
                    d = stratified_subsample(d, dev_tasks, dev[1], fraction, rng)
                else:  # swap
                    shared = np.isin(tasks[train], np.unique(dev_tasks[d]))
                    d = matched_rows(d, dev_tasks, dev[1], train[shared], tasks, yc, rng)
                    train = train[~shared]
                X_tr = FeatureSet.concat([Xc.subset(train), dev[0].subset(d)])
                y_tr = np.concatenate([yc[train], dev[1][d]])
            p[test] = make_probe(method, **params).fit(X_tr, y_tr).predict_proba(Xc.subset(test))
        out.append(pd.DataFrame({"method": method, "checkpoint": str(step), "step": step, "task": tasks,
                                 "pass1": yc, "p": p}))
    return pd.concat(out, ignore_index=True)


def _load(path: str):
    from probecast.evaluation.data import labelled_pairs
    from probecast.workspace import Workspace

    ws = Workspace(path)
    X, labels = labelled_pairs(ws)
    return X, labels["pass1"].to_numpy(float)


def _questions_per_task(X, tasks: list[str]) -> dict[str, int]:
    """Questions of each task at the first checkpoint (every checkpoint holds the same questions)."""
    first = X.step.astype(int) == int(X.step.min())
    return {t: int(np.sum(first & (X.task.astype(str) == t))) for t in tasks}


def _plot(result: dict, path: str, dev_tasks: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from probecast.io import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (method, points) in enumerate(result["curves"].items()):
        for mode, style, note in (("own", "-o", ""), ("dev", "--s", " (+ dev questions)"),
                                  ("swap", "D", " (dev questions instead)"),
                                  ("pool", "^", " (at every checkpoint)")):
            pts = sorted((r for r in points if r["mode"] == mode), key=lambda r: r["train_questions_per_task"])
            if pts:
                ax.errorbar([r["train_questions_per_task"] for r in pts], [r["auroc_dev_tasks"] for r in pts],
                            yerr=[r["auroc_dev_tasks_sd"] for r in pts], fmt=style, color=f"C{i}", capsize=3,
                            label=method + note)
    ax.axhline(0.78, color="grey", ls=":", lw=1, label="issue 12 line (0.78)")
    ax.set_xscale("log")
    ax.set_xlabel("training questions per task and checkpoint (mean over the dev tasks)")
    ax.set_ylabel("in-checkpoint AUROC (dev-set tasks)")
    ax.set_title("in-checkpoint AUROC vs labelled training questions\n(mean over " + ", ".join(dev_tasks) + ")",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", required=True, help="the real demo's workspace (labels and features)")
    ap.add_argument("--dev", default=None,
                    help="a dev workspace of benchmarks/real_dev_set.py (adds '+dev' and 'swap')")
    ap.add_argument("--methods", default="ridge,lens_ridge,text_difficulty")
    ap.add_argument("--fractions", default="0.25,0.5,1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--pool-checkpoints", action="store_true",
                    help="add 'pool': the training folds' questions at every checkpoint (all training questions)")
    ap.add_argument("--plot", default=None, help="PNG of the curves")
    ap.add_argument("--json", default=None, help="write the result here")
    args = ap.parse_args(argv)
    from probecast.evaluation.in_checkpoint import IN_CHECKPOINT_PARAMS
    from probecast.errors import ProbecastError
    from probecast.evaluation.in_checkpoint import summarise_in_checkpoint
    from probecast.evaluation.metrics import nanmean
    from probecast.probes.base import parse_probe_spec, split_probe_specs

    try:
        fractions = [float(f) for f in args.fractions.split(",")]
    except ValueError:
        fractions = []
    if not fractions or min(fractions) <= 0 or max(fractions) > 1 or args.seeds < 1 or args.folds < 2:
        raise ProbecastError("--fractions: comma-separated numbers in (0, 1] (e.g. 0.25,0.5,1); --seeds >= 1, "
                             "--folds >= 2")
    X, y = _load(args.ws)
    dev = _load(args.dev) if args.dev else None
    if dev is not None:
        if set(dev[0].question_ids.astype(str)) & set(X.question_ids.astype(str)):
            raise ProbecastError(f"--dev {args.dev}: shares questions with --ws {args.ws}; it must be a disjoint set")
        if set(dev[0].step.astype(int)) != set(X.step.astype(int)):
            raise ProbecastError(f"--dev {args.dev}: its checkpoints differ from --ws {args.ws}'s; "
                                 "build it on that run")
    tasks = sorted(set(X.task.astype(str)))
    dev_tasks = sorted(set(dev[0].task.astype(str)) & set(tasks)) if dev is not None else tasks
    per_task = _questions_per_task(X, tasks)
    dev_per_task = _questions_per_task(dev[0], dev_tasks) if dev is not None else {}
    variants = [(f, "own") for f in fractions] + ([(f, "dev") for f in fractions] + [(1.0, "swap")]
                                                  if dev is not None else [])
    variants += [(1.0, "pool")] if args.pool_checkpoints else []
    result: dict = {"ws": args.ws, "dev": args.dev, "seeds": args.seeds, "dev_tasks": dev_tasks, "curves": {}}
    print(f"questions per checkpoint: {per_task}" + (f"; dev adds {dev_per_task}" if dev else ""), flush=True)
    for spec in split_probe_specs(args.methods):
        name, extra = parse_probe_spec(spec)
        params = IN_CHECKPOINT_PARAMS.get(name, {}) | extra
        result["curves"][spec] = []
        for fraction, mode in variants:
            t0, dev_means, all_means = time.time(), [], []
            for seed in range(args.seeds):
                rows = learning_curve_rows(X, y, dev, name, params, fraction, mode, seed, args.folds)
                by_task = summarise_in_checkpoint(rows)["methods"][name]["auroc_by_task"]
                dev_means.append(nanmean([by_task[t] for t in dev_tasks]))
                all_means.append(nanmean(by_task.values()))
            added = dev_per_task if mode == "dev" else {}  # swap: as many as the training folds (when dev has them)
            n_train = float(np.mean([fraction * (per_task[t] * (1 - 1 / args.folds) + added.get(t, 0))
                                     for t in dev_tasks]))
            label = {"own": f"{fraction:g}", "dev": f"{fraction:g}+dev", "swap": "swap", "pool": "pool"}[mode]
            point = {"variant": label, "mode": mode, "fraction": fraction, "train_questions_per_task": n_train,
                     "auroc_dev_tasks": float(np.mean(dev_means)),
                     "auroc_dev_tasks_sd": float(np.std(dev_means, ddof=1)) if args.seeds > 1 else 0.0,
                     "auroc_all_tasks": float(np.mean(all_means)), "by_seed_dev_tasks": [float(v) for v in dev_means]}
            result["curves"][spec].append(point)
            print(f"{spec:14s} {label:6s} train questions/task {n_train:6.1f}  "
                  f"AUROC dev tasks {point['auroc_dev_tasks']:.3f} ± {point['auroc_dev_tasks_sd']:.3f}  "
                  f"all tasks {point['auroc_all_tasks']:.3f}  [{time.time() - t0:.0f} s]", flush=True)
    if args.plot:
        _plot(result, args.plot, dev_tasks)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)  # a bad workspace or option: one line, exit 2
