"""Choose a pure hidden-state probe on the training checkpoints only (the evaluation's test rows are never read).

    python benchmarks/lens_ridge_validation.py --ws demo-out-smollm2 [--seeds 10] [--probes logit_lens,ridge,lens_ridge]
    python benchmarks/lens_ridge_validation.py --ws demo-out-smollm2 --probes ridge,ridge:task_intercepts=true

A probe is a registered name, optionally with parameters (`name:key=value:key2=value2`, since `,` separates probes;
values are read as JSON, else as text).

Inside the evaluation's training data (its training questions x its first `--train-checkpoints` checkpoints), each
seed splits again: probes are fitted on the earlier training checkpoints (all but the last) on 70 % of those
questions and scored on the last training checkpoint on the other 30 %, with the evaluation's own metrics (mean
per-task AUROC within a checkpoint, task-score error). Prints every probe's score per seed, the means with their
standard errors, and the paired difference of the last probe named against each other one (better on how many
seeds). This is how `lens_ridge` was chosen (session 9, on the real demo's run).

`--later`: the same over the test checkpoints' range, still without a test row: each seed splits the evaluation's
*training* questions 70 / 30 %, fits on the first 70 % at the training checkpoints and scores the other 30 % at
the test checkpoints (the evaluation's held-out questions are read at no checkpoint). Weight drift between the
training and the test checkpoints is then part of what is validated (session 19's dev protocol, session 22's
choice of the real demo's pooling). The evaluation's split (training checkpoints, held-out fraction, seed) is the
one summary.json records.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def scores(X, y, train, test, names) -> dict[str, tuple[float, float]]:
    from probecast.evaluation.scoring import per_checkpoint, summarise
    from probecast.probes.base import make_probe, parse_probe_spec

    out = {}
    for name in names:
        probe, params = parse_probe_spec(name)
        p = make_probe(probe, **params).fit(X.subset(train), y[train]).predict_proba(X.subset(test))
        rows = pd.DataFrame({"task": X.task.astype(str)[test], "checkpoint": X.checkpoint.astype(str)[test],
                             "step": X.step[test], "question_id": X.question_ids.astype(str)[test],
                             "pass1": y[test], "p": p})
        s = summarise(rows, per_checkpoint(rows, n_boot=2))
        out[name] = (s["auroc_mean"], s["task_abs_err_mean"], s["auroc_by_task"])
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", required=True, help="workspace with labels and features (e.g. the real demo's)")
    ap.add_argument("--train-checkpoints", type=int, default=4, help="the evaluation's training checkpoints")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--probes", default="logit_lens,ridge,lens_ridge")
    ap.add_argument("--later", action="store_true", help="score at the test checkpoints (the module doc)")
    args = ap.parse_args(argv)

    from probecast.evaluation.data import feature_index, load_pairs, select
    from probecast.evaluation.splits import SplitConfig, make_split
    from probecast.workspace import Workspace

    from probecast.probes.base import split_probe_specs

    from probecast.identity import recorded_evaluation

    recorded = recorded_evaluation(Workspace(args.ws)).get("split") or {}
    evaluation = SplitConfig(n_train_checkpoints=recorded.get("n_train_checkpoints") or args.train_checkpoints,
                             test_fraction=recorded.get("test_fraction", 0.3), seed=recorded.get("seed", 0))

    names = split_probe_specs(args.probes)
    index = select(feature_index(Workspace(args.ws)), None, None, labelled=True)
    X, labels = load_pairs(Workspace(args.ws), index, labelled=True)
    y = labels["pass1"].to_numpy(float)
    outer = make_split(X, evaluation)
    if args.later:  # the evaluation's training questions at every checkpoint
        from probecast.probes.inputs import question_keys

        train_q = np.isin(question_keys(X), question_keys(X)[outer.train])
        inside = np.where(train_q)[0]
    else:
        inside = np.where(outer.train)[0]  # the evaluation's training rows only
    X, y = X.subset(inside), y[inside]
    per_seed = []
    for seed in range(1, args.seeds + 1):
        n_fit = evaluation.n_train_checkpoints if args.later else evaluation.n_train_checkpoints - 1
        sp = make_split(X, SplitConfig(n_train_checkpoints=n_fit, seed=seed))
        per_seed.append(scores(X, y, sp.train, sp.test, names))
        print(f"seed {seed:2d}  " + "  ".join(f"{n} {per_seed[-1][n][0]:.3f}" for n in names), flush=True)
    auc = {n: np.array([s[n][0] for s in per_seed]) for n in names}
    err = {n: np.array([s[n][1] for s in per_seed]) for n in names}
    sem = lambda a: float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("nan")  # noqa: E731
    for n in names:
        by_task = pd.DataFrame([s[n][2] for s in per_seed]).astype(float).mean()  # per task, mean over seeds
        print(f"{n:14s} AUROC {auc[n].mean():.3f} ± {sem(auc[n]):.3f}   task-score error {err[n].mean():.3f}   "
              + " ".join(f"{t} {v:.2f}" for t, v in by_task.items()))
    last = names[-1]
    for n in names[:-1]:
        d = auc[last] - auc[n]
        print(f"{last} - {n}: {d.mean():+.3f} ± {sem(d):.3f} (better on {(d > 0).sum()} of {len(d)} seeds)")
    return {"auroc": {n: a.tolist() for n, a in auc.items()}, "task_abs_err": {n: e.tolist() for n, e in err.items()}}


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)  # a bad workspace or option: one line, exit 2
