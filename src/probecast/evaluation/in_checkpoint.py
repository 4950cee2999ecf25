"""The in-checkpoint protocol (the accuracy claim of arXiv 2604.01025): at every labelled checkpoint, probes
are trained and tested on disjoint questions of that same checkpoint.

Per checkpoint, the questions are split into `n_folds` folds stratified by task and binarised label (each
task's successes and failures dealt evenly over the folds, seeded: scikit-learn's StratifiedKFold with the
task as a stratum); every method is fitted on the other folds' rows and predicts the held-out fold, so each row
gets one out-of-fold prediction. Anything a probe chooses (layer, L2 strength, PCA size) is chosen by its own
inner cross-validation on the training folds (the linear probes' inner question folds stratified the same way,
`probes.inputs.stratified_question_folds`): the test fold is only ever predicted. Scores: per (task,
checkpoint) AUROC against pass@1 >= 0.5 (where both classes occur) and Brier; `auroc_by_task` is the mean
over checkpoints, `auroc_mean` the mean over tasks. Stratifying matters because the out-of-fold
predictions of all folds are pooled into one AUROC per task: with unstratified folds, a fold that happens to
hold more of a task's successes is predicted by a model trained on fewer of them, so anything a probe learns
about the task's base rate ranks that fold *lower* and the pooled AUROC is biased below 0.5 for a weak
predictor (Forman & Scholz, SIGKDD Explorations 2010; Parker, Gunter & Bullard 2007). Rows are questions (one
per question at a checkpoint), so folds of rows are folds of questions. carry_forward, hybrid_history and
training_loss have no meaning inside one checkpoint (no earlier label, one loss per checkpoint) and are not run.
A `vote` run beside all its members with their parameters is their soft vote on the same folds, computed from
their out-of-fold predictions rather than refitted (exact; the real demo's in-checkpoint stage 194 s -> 119 s, idle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.evaluation import metrics as M
from probecast.probes.base import make_probe
from probecast.probes.inputs import task_folds
from probecast.evaluation.auroc_bootstrap import BootstrapConfig, attach_intervals, auroc_bootstrap
from probecast.evaluation.scoring import clean
from probecast.probes.baselines import BASELINES
from probecast.probes.vote import MEMBERS as VOTE_MEMBERS, VoteProbe, soft_vote
from probecast.ui import track

NOT_IN_CHECKPOINT = ("carry_forward", "hybrid_history", "training_loss")  # need an earlier label / a loss per step
# what `probecast evaluate-in-checkpoint` and the real demo run by default
IN_CHECKPOINT_METHODS = ("linear", "ridge", "ridge_layers", "by_format", "vote", "logit_lens", "lens_ridge",
                         "hybrid", "answer_loglik", "text_difficulty")
# inside one checkpoint the linear probes cross-validate over (stratified) question folds only, with L2 grids
# 100x stronger than the defaults: chosen on the real run's dev question set (benchmarks/real_dev_set.py: new
# questions, never the demo's), where ~260 rows of 576 dimensions per checkpoint want more shrinkage (ridge 0.576 ->
# 0.599, linear 0.563 -> 0.589 over 3 outer seeds); `--param` overrides them (e.g. for a run with many more rows).
# lens_ridge's ridge member takes ridge's settings (session 12, same dev set: 0.568 -> 0.584, better on all 3 seeds;
# question folds with the default grid alone: 0.564); ridge_layers averages ridge over the 5 layers its CV ranks best
# (session 14, same dev set: 0.599 -> 0.609; top 3 / 10 / 31 layers: 0.607 / 0.608 / 0.585)
_RIDGE_IN_CHECKPOINT = {"cv": "question", "l2_grid": [1.0, 10.0, 100.0, 1000.0, 10000.0]}
_RIDGE_LAYERS_IN_CHECKPOINT = {**_RIDGE_IN_CHECKPOINT, "top_layers": 5}
IN_CHECKPOINT_PARAMS = {"linear": {"cv": "question", "l2_grid": [0.1, 1.0, 10.0, 100.0, 1000.0]},
                        "ridge": _RIDGE_IN_CHECKPOINT, "lens_ridge": _RIDGE_IN_CHECKPOINT,
                        "ridge_layers": _RIDGE_LAYERS_IN_CHECKPOINT,
                        # ridge_layers fitted apart on the multiple-choice and the generative rows (session 24)
                        "by_format": {"params": _RIDGE_LAYERS_IN_CHECKPOINT},
                        "hybrid": {"oof": "question", "select": "always"}}
# the soft vote of four of them, each member with its own in-checkpoint parameters (session 25, chosen on the dev
# question set: 0.721 against 0.706 for by_format over five fold seeds; probes/vote.py)
IN_CHECKPOINT_PARAMS["vote"] = {"params": {m: IN_CHECKPOINT_PARAMS[m] for m in VOTE_MEMBERS}}


@dataclass(frozen=True)
class InCheckpointConfig:
    n_folds: int = 5
    seed: int = 0
    repeats: int = 1  # repeated CV: fold seeds seed, seed + 1, ...; every figure is the mean over the repeats
    n_jobs: int = 1  # method × checkpoint units run side by side in this many processes (joblib/loky; 1 = here)
    bootstrap: BootstrapConfig | None = BootstrapConfig()  # question bootstrap of each mean (None = skip)


def out_of_fold(name: str, X: FeatureSet, y: np.ndarray, cfg: InCheckpointConfig, params: dict,
                repeat: int = 0) -> np.ndarray:
    """Out-of-fold P(success) of one method on the rows of one checkpoint (folds of seed `cfg.seed + repeat`)."""
    fold = task_folds(X.task.astype(str), y, cfg.n_folds, cfg.seed + repeat)
    p = np.full(len(X), np.nan)
    for k in range(cfg.n_folds):
        test = fold == k
        if not test.any() or test.all():
            continue
        model = make_probe(name, **params).fit(X.subset(~test), y[~test])
        p[test] = model.predict_proba(X.subset(test))
    return p


def evaluate_in_checkpoint(X: FeatureSet, y: np.ndarray, methods: list[str], cfg: InCheckpointConfig | None = None,
                           params: dict[str, dict] | None = None, show_progress: bool = True) -> dict:
    """{methods: {method: {auroc_mean, auroc_ci, auroc_by_task, brier_mean, auroc_by_checkpoint}}, auroc_paired,
    protocol}: `auroc_ci` and `auroc_paired` (each method against the baselines run) come from a question
    bootstrap of the out-of-fold predictions (`evaluation.auroc_bootstrap`). The folds themselves stay fixed
    there, so fold-to-fold noise is not in the interval; with `cfg.repeats` > 1 (repeated cross-validation, as
    scikit-learn's RepeatedStratifiedKFold) every figure is the mean over that many fold draws, which shrinks the
    fold noise of the point, and each bootstrap resample is scored on every repeat's predictions and averaged."""
    cfg = cfg or InCheckpointConfig()
    if cfg.n_folds < 2 or cfg.repeats < 1:
        raise ProbecastError(f"in-checkpoint evaluation: n_folds must be >= 2 and repeats >= 1, got {cfg.n_folds}, "
                             f"{cfg.repeats}")
    params = params or {}
    ck_of = X.checkpoint.astype(str)
    step_of = {c: int(X.step[ck_of == c][0]) for c in set(ck_of)}
    ckpts = sorted(step_of, key=step_of.get)
    run = [m for m in methods if m not in NOT_IN_CHECKPOINT]
    if not run or not ckpts:
        raise ProbecastError("in-checkpoint evaluation: no method to run")
    votes = votes_of_members(run, params)  # computed from their members' predictions below, not refitted
    fitted = [m for m in run if m not in votes]

    def units():  # checkpoint by checkpoint: one copy of its rows at a time, shared by every method
        for ck in ckpts:
            rows = ck_of == ck
            Xc, yc = X.subset(rows), y[rows]
            for name in fitted:
                for r in range(cfg.repeats):
                    yield name, ck, Xc, yc, cfg, params.get(name, {}), r

    total = len(fitted) * len(ckpts) * cfg.repeats
    if cfg.n_jobs > 1:  # each unit is seeded and self-contained, so the result does not depend on where it ran
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=min(cfg.n_jobs, total), return_as="generator")(delayed(_unit)(*u) for u in units())
    else:
        results = (_unit(*u) for u in units())
    frames = list(track(results, "in-checkpoint", total=total, show=show_progress))
    frames += [vote_rows(name, members, frames) for name, members in votes.items()]
    rows = pd.concat(sorted(frames, key=lambda f: run.index(f["method"].iat[0])), ignore_index=True)  # run's order
    out = summarise_in_checkpoint(rows)
    if cfg.bootstrap is not None:  # one out-of-fold prediction per question and checkpoint: resample questions
        b = auroc_bootstrap(rows, against=[m for m in run if m in BASELINES], cfg=cfg.bootstrap, pooled_fallback=False)
        out["auroc_paired"] = attach_intervals(out["methods"], b)
    return clean(out | {
        "protocol": {"n_folds": cfg.n_folds, "seed": cfg.seed, "repeats": cfg.repeats,
                     "checkpoints": [step_of[c] for c in ckpts],
                     "skipped": [m for m in methods if m in NOT_IN_CHECKPOINT]}})


def votes_of_members(run: list[str], params: dict) -> dict[str, list[str]]:
    """{vote method: its members} for the votes in `run` whose members all run beside them with the very
    parameters the vote gives them: fitted on the same folds, the vote's out-of-fold prediction is exactly the soft
    vote of theirs (`probes.vote.soft_vote`), so it is computed from them instead of fitting every member twice."""
    out = {}
    for name in run:
        vote = make_probe(name, **params.get(name, {}))
        if not isinstance(vote, VoteProbe):
            continue
        if len(vote.members_among({m: make_probe(m, **params.get(m, {})) for m in run})) == len(vote.config.members):
            out[name] = list(vote.config.members)
    return out


def vote_rows(name: str, members: list[str], frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The vote's rows, unit by unit (checkpoint, fold draw), from its members' out-of-fold predictions."""
    by = {(f["method"].iat[0], f["checkpoint"].iat[0], f["repeat"].iat[0]): f for f in frames if len(f)}
    out = []
    for (method, ck, r), f in by.items():
        if method == members[0]:
            out.append(f.assign(method=name, p=soft_vote([by[m, ck, r]["p"].to_numpy() for m in members])))
    return pd.concat(out, ignore_index=True)


def _unit(name: str, ck: str, Xc: FeatureSet, yc: np.ndarray, cfg: InCheckpointConfig, params: dict,
          repeat: int = 0) -> pd.DataFrame:
    """One method's out-of-fold predictions on one checkpoint's rows, at one fold draw."""
    return pd.DataFrame({"method": name, "checkpoint": ck, "step": Xc.step.astype(int), "task": Xc.task.astype(str),
                         "question_id": Xc.question_ids.astype(str), "pass1": yc, "repeat": repeat,
                         "p": out_of_fold(name, Xc, yc, cfg, params, repeat)})


def summarise_in_checkpoint(rows: pd.DataFrame) -> dict:
    """Per method: AUROC per (checkpoint, task), its mean over checkpoints per task and over tasks; with a `repeat`
    column (repeated CV) each cell's AUROC is the mean over the repeats' predictions."""
    out: dict = {"methods": {}}
    rows = rows if "repeat" in rows else rows.assign(repeat=0)
    for name, g in rows.groupby("method", sort=False):
        by_ck: dict = {}
        for (step, task), d in g.groupby(["step", "task"]):
            by_ck.setdefault(str(step), {})[task] = float(np.mean(
                [M.auroc((dr["pass1"] >= 0.5).to_numpy(float), dr["p"].to_numpy()) for _, dr in d.groupby("repeat")]))
        tasks = sorted(set(g["task"]))
        by_task = {t: M.nanmean([v[t] for v in by_ck.values() if t in v]) for t in tasks}
        out["methods"][name] = {"auroc_mean": M.nanmean(by_task.values()), "auroc_by_task": by_task,
                                "brier_mean": M.brier(g["pass1"].to_numpy(), g["p"].to_numpy()),
                                "auroc_by_checkpoint": by_ck}
    return out
