"""How far could a linear reading of the real run's hidden states go? Optimistic ceilings for issue 12's two
pure hidden-state lines (in-checkpoint ≥ 0.78; earlier predicts later ≥ 0.72 and above carry_forward).

The demo's probes choose their layer and L2 strength honestly (inner CV on training rows). This benchmark asks
what the *best possible* choice would have given, by choosing on the test data itself — optimistic on purpose,
as `benchmarks/multistep_ceiling.py` does for the embedded model: if even that misses a bar, no setting of
these probes meets it on this run, and the reason is the features and labels, not the selection.

Candidates: ridge on pass@1 (the demo's `ridge`: features z-scored on the training rows) for every stored layer
(the embeddings, the 30 blocks), pooling (`last` prompt token, `mean` over the prompt, `both`) and L2 strength
in `--l2`; fitted on all tasks at once ("pooled", as the demo's probes) or one model per task ("per-task").
Every candidate's predictions are scored as the evaluation scores them (AUROC against pass@1 ≥ 0.5 per task and
checkpoint, mean over checkpoints, then over tasks; earlier-later: a task none of whose test checkpoints has
both classes is scored pooled over them).

- in-checkpoint: at each checkpoint the demo's outer folds (5, stratified by task and label, seed 0); every
  candidate fitted on four folds, predicting the fifth.
- earlier-later: the demo's split (the recorded evaluation's training checkpoints, held-out fraction and seed):
  fitted on training questions × training checkpoints, scored on held-out questions × test checkpoints; beside
  the oracle, the candidate an honest rule picks (`forward_choice`: fitted on the earlier training checkpoints,
  validated at the last one on left-out training questions, no test row read). And,
  removing weight drift, "drift-free": fitted on training questions × *every* checkpoint (the test checkpoints'
  labels of the other questions included), scored on the same held-out rows.

Reported per protocol: the best single candidate (`oracle`: the candidate with the highest mean, chosen on the
test scores), the best candidate per task (`oracle per task`), and the same two on `null` features — each
question's hidden states swapped with another question's of the same task (the same swap at every checkpoint),
which keeps the features' distribution and removes their signal, so `null` is how high choosing among these
candidates on the test data climbs by chance alone. With `--plot` a figure of the mean AUROC by layer.

    python benchmarks/real_hidden_ceiling.py --ws demo-out-smollm2 [--json] [--plot ceiling.png]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from probecast.evaluation.auroc_bootstrap import finite_mean
from probecast.evaluation.metrics import strata_auroc

POOLINGS = ("last", "mean", "both")  # `--poolings` replaces them (any of probes.inputs.POOLINGS)
L2_GRID = (1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)


def cell_auroc(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUROC (y ≥ 0.5 positive) of every candidate: scores [n, ...] → [...]; NaN when one class."""
    return strata_auroc(scores, y, np.zeros(len(y)))  # one stratum: the cell itself


def task_scores(P: np.ndarray, y: np.ndarray, task: np.ndarray, ckpt: np.ndarray, pooled_fallback: bool) -> dict:
    """{task: [...] mean AUROC over the task's checkpoints} for predictions P [n, ...] (every candidate at once)."""
    out = {}
    for t in np.unique(task):
        m = task == t
        cells = np.stack([cell_auroc(P[m & (ckpt == c)], y[m & (ckpt == c)]) for c in np.unique(ckpt[m])])
        s = finite_mean(cells)
        if pooled_fallback and not np.isfinite(cells).any():
            s = cell_auroc(P[m], y[m])
        out[str(t)] = s
    return out


def ridge_all(A_tr: np.ndarray, y_tr: np.ndarray, A_te: np.ndarray, l2: tuple[float, ...]) -> np.ndarray:
    """Predictions [n_te, G, L] of ridge on pass@1 for every (l2, layer): the demo's solver (`probes.linear`),
    features z-scored on the training rows."""
    import torch

    from probecast.probes.inputs import Standardizer
    from probecast.probes.linear import fit_linear_grid

    s = Standardizer().fit(A_tr)
    W, b = fit_linear_grid("ridge", s.transform(A_tr), y_tr.astype(np.float32), list(l2), 100)
    with torch.no_grad():
        return (torch.einsum("nld,gld->ngl", torch.from_numpy(s.transform(A_te)), W) + b).numpy()


def fit_predict(H: np.ndarray, y: np.ndarray, task: np.ndarray, train: np.ndarray, test: np.ndarray,
                per_task: bool, l2: tuple[float, ...]) -> np.ndarray:
    """[test rows, G, L] predictions of every candidate, fitted on `train` rows (all tasks, or each task alone)."""
    if not per_task:
        return ridge_all(H[train], y[train], H[test], l2)
    out = np.full((int(test.sum()), len(l2), H.shape[1]), np.nan)
    pos = np.flatnonzero(test)
    for t in np.unique(task[test]):
        tr, te = train & (task == t), test & (task == t)
        where = np.searchsorted(pos, np.flatnonzero(te))
        out[where] = ridge_all(H[tr], y[tr], H[te], l2) if tr.sum() >= 4 else 0.0
    return out


def summarise(by_task: dict[str, np.ndarray]) -> dict:
    """Oracle figures from {task: [C, ...]} candidate means (C: pooling, then G × L flattened)."""
    tasks = [t for t, v in by_task.items() if np.isfinite(v).any()]
    M = np.stack([np.asarray(by_task[t], dtype=float).reshape(-1) for t in tasks])  # [tasks, candidates]
    mean = finite_mean(M)
    best = int(np.nanargmax(mean))
    per_task = {t: float(np.nanmax(M[i])) for i, t in enumerate(tasks)}
    return {"oracle": float(mean[best]), "oracle_index": best, "oracle_by_task": {t: float(M[i, best])
                                                                                  for i, t in enumerate(tasks)},
            "oracle_per_task": float(np.mean(list(per_task.values()))), "oracle_per_task_by_task": per_task,
            "mean_by_candidate": mean}


def describe(index: int, n_layers: int, l2: tuple[float, ...]) -> dict:
    p, rest = divmod(index, len(l2) * n_layers)
    g, layer = divmod(rest, n_layers)
    return {"pooling": POOLINGS[p], "l2": l2[g], "layer": layer}


def in_checkpoint(X, y, rows_perm, l2, folds, seed, per_task: bool, track) -> dict:
    """{task: [P, G, L]} mean AUROC of every candidate under the in-checkpoint protocol."""
    from probecast.probes.inputs import hidden_block, task_folds

    task, ck = X.task.astype(str), X.checkpoint.astype(str)
    out = {}
    for pooling in POOLINGS:
        H = hidden_block(X, pooling)[rows_perm]
        P = np.full((len(y), len(l2), H.shape[1]), np.nan)
        for c in track(list(dict.fromkeys(ck)), f"in-checkpoint, {pooling}{', per task' if per_task else ''}"):
            rows = np.flatnonzero(ck == c)
            fold = task_folds(task[rows], y[rows], folds, seed)
            for k in range(folds):
                tr, te = np.zeros(len(y), bool), np.zeros(len(y), bool)
                tr[rows[fold != k]], te[rows[fold == k]] = True, True
                if te.any() and tr.any():
                    P[te] = fit_predict(H, y, task, tr, te, per_task, l2)
        for t, s in task_scores(P, y, task, ck, pooled_fallback=False).items():
            out.setdefault(t, []).append(s)
    return {t: np.stack(v) for t, v in out.items()}


def earlier_later(X, y, rows_perm, split, l2, per_task: bool, drift_free: bool, track) -> dict:
    """{task: [P, G, L]} mean AUROC of every candidate on the demo's held-out rows at the test checkpoints."""
    from probecast.probes.inputs import hidden_block

    task, ck = X.task.astype(str), X.checkpoint.astype(str)
    train = split.train.copy()
    if drift_free:  # training questions at every checkpoint, the test checkpoints' included
        test_q = set(zip(task[split.test], X.question_ids[split.test].astype(str)))
        train = np.array([(t, q) not in test_q for t, q in zip(task, X.question_ids.astype(str))])
    out = {}
    for pooling in track(list(POOLINGS), "earlier-later" + (", drift-free" if drift_free else "")
                         + (", per task" if per_task else "")):
        H = hidden_block(X, pooling)[rows_perm]
        P = fit_predict(H, y, task, train, split.test, per_task, l2)
        for t, s in task_scores(P, y[split.test], task[split.test], ck[split.test], pooled_fallback=True).items():
            out.setdefault(t, []).append(s)
    return {t: np.stack(v) for t, v in out.items()}


def forward_validation(X, y, split, l2, folds: int, seeds: int, track) -> np.ndarray:
    """[P, G, L] mean AUROC of every candidate in a validation that reads no held-out question and no test
    checkpoint, pointed forward in time as the deployment is: fitted on the earlier training checkpoints, scored
    at the last training checkpoint on training questions left out of the fit (question folds stratified by task
    and label there, `seeds` fold draws). A rule that could be run before the test checkpoints exist."""
    from probecast.probes.inputs import hidden_block, task_folds

    task, ck = X.task.astype(str), X.checkpoint.astype(str)
    key = np.char.add(np.char.add(task, "\x1f"), X.question_ids.astype(str))
    last = np.asarray(ck == split.train_checkpoints[-1]) & split.train
    out = []
    for pooling in track(list(POOLINGS), "earlier-later, forward validation"):
        H = hidden_block(X, pooling)
        runs = []
        for seed in range(seeds):
            fold_of = dict(zip(key[last], task_folds(task[last], y[last], folds, seed)))
            fold = np.array([fold_of.get(k, -1) for k in key])
            P = np.full((len(y), len(l2), H.shape[1]), np.nan)
            for f in range(folds):
                fit, val = split.train & ~last & (fold != f) & (fold >= 0), last & (fold == f)
                P[val] = fit_predict(H, y, task, fit, val, False, l2)
            s = task_scores(P[last], y[last], task[last], ck[last], pooled_fallback=True)
            runs.append(finite_mean(np.stack([v for v in s.values() if np.isfinite(v).any()])))
        out.append(np.mean(runs, axis=0))
    return np.stack(out)


def main(argv: list[str] | None = None) -> dict:
    global POOLINGS
    from probecast.errors import ProbecastError
    from probecast.evaluation.data import labelled_pairs
    from probecast.evaluation.splits import SplitConfig, make_split
    from probecast.identity import recorded_evaluation
    from probecast.ui import track
    from probecast.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", required=True, help="the real demo's workspace (labels, features, evaluation)")
    ap.add_argument("--l2", default=",".join(str(v) for v in L2_GRID), help="L2 strengths (comma-separated)")
    ap.add_argument("--folds", type=int, default=5, help="in-checkpoint outer folds (the demo's: 5)")
    ap.add_argument("--seed", type=int, default=0, help="in-checkpoint fold seed (the demo's: 0)")
    ap.add_argument("--null-seed", type=int, default=1, help="seed of the null features' question swap")
    ap.add_argument("--skip-per-task", action="store_true", help="pooled candidates only (faster)")
    ap.add_argument("--poolings", default=",".join(POOLINGS),
                    help="candidate poolings, e.g. last,answer,last_answer (features extracted with the answer's "
                         "states: session 22 on)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--plot", default=None, help="write a PNG of the mean AUROC by layer here")
    args = ap.parse_args(argv)
    try:
        l2 = tuple(float(v) for v in args.l2.split(","))
    except ValueError:
        raise ProbecastError(f"--l2 {args.l2!r}: give comma-separated positive numbers, e.g. 1,100,10000") from None
    if not l2 or min(l2) <= 0 or args.folds < 2:
        raise ProbecastError("--l2 needs positive values and --folds at least 2")

    ws = Workspace(args.ws)
    if not ws.summary_file.exists():
        raise ProbecastError(f"{args.ws}: no summary.json; run the demo (or `probecast evaluate`) there first")
    summary = json.loads(ws.summary_file.read_text())
    X, labels = labelled_pairs(ws)
    from probecast.probes.inputs import hidden_block

    POOLINGS = tuple(p.strip() for p in args.poolings.split(",") if p.strip())
    for p in POOLINGS:  # an unknown pooling or a block these features lack: the probes' own one-line error, now
        hidden_block(X.subset([0]), p, [0])
    y = labels["pass1"].to_numpy(float)
    task, ck, qid = X.task.astype(str), X.checkpoint.astype(str), X.question_ids.astype(str)
    settings = recorded_evaluation(ws).get("split", {})
    split = make_split(X, SplitConfig(train_checkpoints=settings.get("train_checkpoints"),
                                      n_train_checkpoints=settings.get("n_train_checkpoints") or 4,
                                      test_fraction=settings.get("test_fraction") or 0.5,
                                      seed=settings.get("seed") or 0))

    key = np.array([f"{t}\x1f{q}" for t, q in zip(task, qid)])
    row_of = {(k, c): i for i, (k, c) in enumerate(zip(key, ck))}
    rng = np.random.default_rng(args.null_seed)
    swap = {}
    for t in np.unique(task):
        qs = np.unique(key[task == t])
        swap.update(zip(qs, rng.permutation(qs)))
    try:
        null_rows = np.array([row_of[(swap[k], c)] for k, c in zip(key, ck)])
    except KeyError:
        raise ProbecastError(f"{args.ws}: the null features need every question labelled at every checkpoint; "
                             "label and extract the same questions everywhere") from None
    real_rows = np.arange(len(y))

    variants = {"pooled": False} if args.skip_per_task else {"pooled": False, "per_task": True}
    res: dict = {"in_checkpoint": {}, "earlier_later": {}, "earlier_later_drift_free": {}}
    by_layer = {}
    for feats, rows in (("real", real_rows), ("null", null_rows)):
        for vname, per_task in variants.items():
            tag = f"{feats}/{vname}"
            ic = summarise(in_checkpoint(X, y, rows, l2, args.folds, args.seed, per_task, track))
            el = summarise(earlier_later(X, y, rows, split, l2, per_task, False, track))
            df = summarise(earlier_later(X, y, rows, split, l2, per_task, True, track))
            for proto, s in (("in_checkpoint", ic), ("earlier_later", el), ("earlier_later_drift_free", df)):
                by_layer[(proto, feats, vname)] = s["mean_by_candidate"].reshape(len(POOLINGS), len(l2), -1)
                s["oracle_candidate"] = describe(s.pop("oracle_index"), X.hidden_last.shape[1], l2)
                s.pop("mean_by_candidate")
                res[proto][tag] = s

    if len(split.train_checkpoints) >= 2:  # the honest counterpart: chosen forward in time, no test data read
        val = forward_validation(X, y, split, l2, 3, 3, track)
        i = int(np.nanargmax(val))
        test = by_layer[("earlier_later", "real", "pooled")].reshape(-1)
        per_layer = np.nanmax(val, axis=1)  # [P, L]: the best L2 at each pooling and layer
        res["earlier_later"]["real/pooled"]["forward_choice"] = {
            **describe(i, X.hidden_last.shape[1], l2), "validation": float(val.reshape(-1)[i]), "test": float(test[i]),
            "validation_range": [float(np.nanmin(per_layer)), float(np.nanmax(per_layer))]}
    for (proto, feats, vname), a in by_layer.items():  # the curves the plot draws: best L2 per pooling and layer
        if feats == "real" and vname == "pooled":
            res[proto]["real/pooled"]["by_layer"] = {p: [float(v) for v in np.nanmax(a[i], axis=0)]
                                                     for i, p in enumerate(POOLINGS)}
    demo = {"in_checkpoint": {m: v["auroc_mean"] for m, v in summary.get("in_checkpoint", {}).get("methods", {}).items()},
            "earlier_later": {m: v["auroc_mean"] for m, v in {**summary.get("probes", {}),
                                                              **summary.get("baselines", {})}.items()}}
    res["demo"] = demo
    res["split"] = {"train_checkpoints": split.train_checkpoints, "test_checkpoints": split.test_checkpoints,
                    "held_out_questions": split.n_test_questions}
    if args.plot:
        plot(by_layer, demo, args.plot)
        res["plot"] = args.plot
    if args.json:
        print(json.dumps(res, indent=1, default=float))
    else:
        report(res)
    return res


def report(res: dict) -> None:
    bars = {"in_checkpoint": ("0.78 and above text_difficulty", ("text_difficulty", "answer_loglik")),
            "earlier_later": ("0.72 and above carry_forward", ("carry_forward", "answer_loglik", "text_difficulty")),
            "earlier_later_drift_free": ("(no line: the later checkpoints' labels are read)", ("carry_forward",))}
    for proto, (bar, refs) in bars.items():
        demo = res["demo"]["in_checkpoint" if proto == "in_checkpoint" else "earlier_later"]
        ref = "  ".join(f"{m} {demo[m]:.3f}" for m in refs if m in demo)
        print(f"\n{proto} — bar: {bar}; demo: {ref}")
        for tag, s in res[proto].items():
            c = s["oracle_candidate"]
            print(f"  {tag:14s} oracle {s['oracle']:.3f} ({c['pooling']}, layer {c['layer']}, l2 {c['l2']:g})   "
                  f"oracle per task {s['oracle_per_task']:.3f}")
        s = res[proto].get("real/pooled")
        if s:
            print("    real/pooled oracle by task: " + "  ".join(f"{t} {v:.2f}" for t, v in s["oracle_by_task"].items()))
        f = (s or {}).get("forward_choice")
        if f:
            print(f"    chosen without the test data (forward validation on the training checkpoints): {f['pooling']}, "
                  f"layer {f['layer']}, l2 {f['l2']:g}: validation {f['validation']:.3f}, test {f['test']:.3f}")


def plot(by_layer: dict, demo: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    protos = [("in_checkpoint", "in-checkpoint", 0.78, ("text_difficulty", "answer_loglik")),
              ("earlier_later", "earlier predicts later", 0.72, ("carry_forward", "answer_loglik")),
              ("earlier_later_drift_free", "earlier-later, drift-free (reads later labels)", None, ("carry_forward",))]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    for ax, (proto, title, bar, refs) in zip(axes, protos):
        for vname, style in (("pooled", "-"), ("per_task", ":")):
            a = by_layer.get((proto, "real", vname))
            if a is None:
                continue
            for p, pooling in enumerate(POOLINGS):
                ax.plot(np.nanmax(a[p], axis=0), style, label=f"{pooling}, {vname.replace('_', ' ')}")
        null = by_layer[(proto, "null", "pooled")]
        ax.plot(np.nanmax(null, axis=(0, 1)), color="black", lw=0.8, alpha=0.6,
                label="null (questions' states swapped), best pooling")
        d = demo["in_checkpoint" if proto == "in_checkpoint" else "earlier_later"]
        for m, color in zip(refs, ("tab:gray", "tab:brown")):
            if m in d:
                ax.axhline(d[m], color=color, ls="--", lw=1, label=f"{m} {d[m]:.3f}")
        if bar is not None:
            ax.axhline(bar, color="red", lw=1, label=f"bar {bar}")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("feature layer (0 = embeddings)")
        ax.set_ylim(0.25, 0.82)
        ax.legend(fontsize=6, loc="lower right", ncol=2, framealpha=0.8)
    axes[0].set_ylabel("mean AUROC")
    fig.suptitle("Pure hidden-state ridge probes on the real run: optimistic ceiling by layer (the best L2 per layer, "
                 "chosen on the test scores)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)
