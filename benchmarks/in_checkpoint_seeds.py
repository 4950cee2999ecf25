"""How much the in-checkpoint figures move with the outer folds alone (the protocol's own noise).

    python benchmarks/in_checkpoint_seeds.py --ws demo-out-smollm2 [--seeds 5] [--methods linear,ridge,text_difficulty] [--jobs 2]
    python benchmarks/in_checkpoint_seeds.py --ws demo-out-smollm2 --protocol earlier-later --train-checkpoints 4 \
        --methods logit_lens,carry_forward,ridge

`--protocol earlier-later` does the same for the earlier-predicts-later split (`evaluation.evaluate`, nothing
written): the held-out questions are drawn again at split seeds 0..N-1 (seed 0 is the demo's split), the
methods fitted on the first `--train-checkpoints` checkpoints and scored on the later ones, with the probe
parameters the workspace's evaluation records (the real demo's: the answer's states for its pure hidden-state
probes) unless `--param` says otherwise; it also prints the task-score error.

Runs the real demo's in-checkpoint protocol (`evaluation.in_checkpoint`, the per-method settings the workspace's
in-checkpoint block recorded — until session 29 the protocol's defaults, without the demo's pooling —, 5 folds
stratified by task and label) once per outer fold seed 0..N-1 and prints every method's mean AUROC per seed, the
mean ± standard deviation over seeds, per task, and the mean without the tasks that have fewer than
`--min-questions` questions per checkpoint (GSM8K's 16 in the demo, 8 before session 16: one success among 8
makes its per-checkpoint AUROC the rank of one question). Nothing is chosen here; it says how far apart two figures must be to differ.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", required=True, help="workspace with labels and features (e.g. the real demo's)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--methods", default="linear,ridge,text_difficulty")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--min-questions", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=1, help="in-checkpoint: run the method x checkpoint units in this many "
                    "processes (the same figures; the real demo uses one per thread)")
    ap.add_argument("--protocol", choices=("in-checkpoint", "earlier-later"), default="in-checkpoint")
    ap.add_argument("--train-checkpoints", type=int, default=4, help="earlier-later: the training checkpoints")
    ap.add_argument("--test-fraction", type=float, default=None, help="earlier-later: each task's held-out "
                    "fraction (default: the workspace's recorded evaluation's, else 0.3)")
    ap.add_argument("--param", action="append", default=[], metavar="METHOD.KEY=VALUE",
                    help="a method's parameter on top of the protocol's (in-checkpoint) or the recorded evaluation's "
                         "(earlier-later); VALUE read as JSON when it can be, e.g. ridge_layers.pooling=last_answer")
    args = ap.parse_args(argv)

    from probecast.evaluation.data import labelled_pairs
    from probecast.evaluation.in_checkpoint import InCheckpointConfig, evaluate_in_checkpoint
    from probecast.workspace import Workspace

    ws = Workspace(args.ws)
    X, labels = labelled_pairs(ws)
    y = labels["pass1"].to_numpy(float)
    task_of, first_ckpt = X.task.astype(str), X.checkpoint.astype(str) == str(X.checkpoint[0])
    tasks = sorted(set(task_of))
    big = [t for t in tasks if np.sum((task_of == t) & first_ckpt) >= args.min_questions]  # questions per checkpoint
    methods = args.methods.split(",")
    test_fraction = args.test_fraction or recorded_test_fraction(ws)
    from probecast.evaluation.commands import _parse_params  # the CLI's own --param METHOD.KEY=VALUE parsing

    given = _parse_params(args.param, nested=True)
    params = in_checkpoint_params(ws, methods, given)
    out = {m: {"mean": [], "mean_big": [], "task_err": [], "by_task": {t: [] for t in tasks}} for m in methods}
    for seed in range(args.seeds):
        if args.protocol == "in-checkpoint":
            ic = InCheckpointConfig(n_folds=args.folds, seed=seed, n_jobs=args.jobs, bootstrap=None)
            res = evaluate_in_checkpoint(X, y, methods, ic, params, show_progress=False)["methods"]
        else:
            res = earlier_later(ws, X, labels, methods, args.train_checkpoints, seed, test_fraction, given)
        for m in methods:
            r = res[m]
            out[m]["mean"].append(r["auroc_mean"])
            out[m]["task_err"].append(r.get("task_abs_err_mean", float("nan")))
            by_task = {t: float("nan") if v is None else v for t, v in r["auroc_by_task"].items()}  # None: one class
            out[m]["mean_big"].append(float(np.nanmean([by_task.get(t, float("nan")) for t in big])))
            for t in tasks:
                out[m]["by_task"][t].append(by_task.get(t, float("nan")))
        print(f"seed {seed}  " + "  ".join(f"{m} {out[m]['mean'][-1]:.3f}" for m in methods), flush=True)
    print(f"\nmean ± sd over {args.seeds} outer seeds; 'without small' leaves out "
          f"{[str(t) for t in tasks if t not in big]} (< {args.min_questions} questions per checkpoint)")
    warnings.simplefilter("ignore", RuntimeWarning)  # a task without AUROC at any seed (one class) prints nan
    for m in methods:
        a, b = np.array(out[m]["mean"]), np.array(out[m]["mean_big"])
        per = "  ".join(f"{t} {np.nanmean(v):.2f}±{np.nanstd(v, ddof=1):.2f}" for t, v in out[m]["by_task"].items())
        err = np.array(out[m]["task_err"], dtype=float)
        task_err = f"   task error {np.nanmean(err):.3f} ± {np.nanstd(err, ddof=1):.3f}" if np.isfinite(err).any() else ""
        print(f"{m:16s} {a.mean():.3f} ± {a.std(ddof=1):.3f}   without small {b.mean():.3f} ± {b.std(ddof=1):.3f}"
              f"{task_err}   {per}")
    return out


def in_checkpoint_params(ws, methods: list[str], given: dict) -> dict:
    """Each method's in-checkpoint parameters: those the workspace's in-checkpoint block ran with (the real demo's:
    the prompt's last token beside the answer's states, also for the vote's members), else the protocol's
    defaults; `given` (--param) on top."""
    from probecast.evaluation.commands import recorded_in_checkpoint_params
    from probecast.evaluation.in_checkpoint import IN_CHECKPOINT_PARAMS

    recorded = recorded_in_checkpoint_params(ws, methods) or {}
    return {m: {**(recorded[m] if m in recorded else IN_CHECKPOINT_PARAMS.get(m, {})), **given.get(m, {})}
            for m in set(IN_CHECKPOINT_PARAMS) | set(recorded) | set(given)}


def recorded_test_fraction(ws) -> float:
    """The held-out fraction of the workspace's recorded evaluation (the real demo holds out 0.5), else the default."""
    from probecast.evaluation.splits import SplitConfig
    from probecast.identity import recorded_evaluation

    return recorded_evaluation(ws).get("split", {}).get("test_fraction") or SplitConfig.test_fraction


def earlier_later(ws, X, labels, methods: list[str], n_train: int, seed: int, test_fraction: float,
                  given: dict[str, dict] | None = None) -> dict:
    """{method: summary} of the earlier-predicts-later evaluation at split seed `seed` (nothing written), with the
    probe parameters the workspace's evaluation records, `given` on top."""
    from probecast.evaluation.data import train_losses
    from probecast.evaluation.evaluate import BASELINES, evaluate
    from probecast.evaluation.splits import SplitConfig
    from probecast.identity import recorded_evaluation

    recorded = recorded_evaluation(ws).get("probe_params") or {}
    params = {m: {**recorded.get(m, {}), **(given or {}).get(m, {})} for m in set(recorded) | set(given or {})}

    res = evaluate(X, labels, probes=[m for m in methods if m not in BASELINES],
                   baselines=[m for m in methods if m in BASELINES], split=SplitConfig(n_train_checkpoints=n_train,
                                                                                        test_fraction=test_fraction,
                                                                                        seed=seed),
                   probe_params=params, train_loss=train_losses(ws) or None, show_progress=False, bootstrap=None).summary
    return {**res["probes"], **res["baselines"]}


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)  # a bad workspace or option: one line, exit 2
