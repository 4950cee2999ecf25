"""The evaluation protocol: earlier checkpoints predict later ones, on questions the probe never saw.

The split is `splits.make_split`. `evaluate` returns an `EvalResult` whose `summary` holds the
summary.json blocks (`summary_parts()` gives exactly probes/baselines/split) and whose `rows` / `table` hold
per-question and per-(task, checkpoint) results.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.evaluation.auroc_bootstrap import BootstrapConfig, attach_intervals, auroc_bootstrap
from probecast.evaluation.scoring import HIGHER_IS_BETTER, clean, losses_to_baselines, per_checkpoint, summarise
from probecast.evaluation.splits import SplitConfig, make_split
from probecast.features.featureset import FeatureSet
from probecast.probes.base import REGISTRY, Probe, make_probe
from probecast.probes.baselines import BASELINES
from probecast.probes.calibration import has_listed_paths
from probecast.probes.inputs import last_labels
from probecast.probes.vote import VoteProbe
from probecast.ui import steps
from probecast.workspace import Workspace

PROBE_ORDER = ("linear", "ridge", "mlp", "attn_layers", "attn_tokens", "logit_lens", "lens_ridge", "hybrid", "hybrid_history")
HIDDEN_ONLY = tuple(n for n in PROBE_ORDER if REGISTRY[n].input_kinds == ("hidden",))  # pure hidden-state probes


@dataclass
class EvalResult:
    summary: dict
    rows: pd.DataFrame  # test rows × methods: method, task, checkpoint, step, question_id, pass1, sample_correct, p
    table: pd.DataFrame  # per (method, task, checkpoint): scores with bootstrap interval, metrics
    fitted: dict[str, Probe] = field(default_factory=dict)

    def summary_parts(self) -> dict:
        """Exactly the probes / baselines / split blocks of the summary.json contract."""
        return {k: self.summary[k] for k in ("probes", "baselines", "split")}


def unavailable_reason(name: str, X: FeatureSet, train_loss: dict | None) -> str | None:
    """Why a method cannot run on these features (None when it can)."""
    if name in ("hybrid", "hybrid_history", "answer_loglik", "answer_loglik_paths") and X.answer_loglik is None:
        return "features have no answer log-likelihood"
    if name == "answer_loglik_paths" and not has_listed_paths(X):
        return "features have no listed answer paths scored (answer_loglik_paths)"
    if name in ("logit_lens", "lens_ridge") and X.next_token is None:
        return "features have no next-token statistics (extracted before they existed)"
    if name == "attn_tokens" and X.tail is None:
        return "features have no last-T token states (tail)"
    if name == "text_difficulty" and X.text is None:
        return "features have no prompt text"
    if name == "training_loss":
        if not train_loss:
            return "no training loss per checkpoint was given"
        missing = sorted({int(s) for s in np.unique(X.step)} - {int(k) for k in train_loss})
        if missing:
            return f"no training loss for the checkpoints at steps {missing}"
    return None


def evaluate(X: FeatureSet, labels: pd.DataFrame, probes: list[str] | None = None,
             baselines: list[str] | None = None, split: SplitConfig | None = None,
             probe_params: dict[str, dict] | None = None, train_loss: dict | None = None,
             multistep_tasks: list[str] | tuple = (), ws: Workspace | None = None,
             show_progress: bool = True, bootstrap: BootstrapConfig | None = BootstrapConfig()) -> EvalResult:
    """Fit every probe and baseline on the training split, score them on the test split.

    `probes` / `baselines` None = every one whose inputs exist (those skipped are listed in
    summary["skipped"]); naming one whose inputs are missing is an error. `train_loss` = {step: loss}.
    With `ws`, fitted methods are saved to W/probes/<name>/ under the names used in the summary. `bootstrap`
    (None = skip) adds each method's `auroc_ci` and summary["auroc_paired"], the AUROC differences to every
    baseline with their intervals (`evaluation.auroc_bootstrap`: a paired bootstrap of the held-out questions)."""
    if len(X) == 0:
        raise ProbecastError("evaluation: no rows (no features with labels); run `probecast label` and "
                             "`probecast extract` first")
    if len(labels) != len(X) or "pass1" not in labels:
        raise ProbecastError("evaluation: labels must align row by row with the features and have 'pass1'")
    split = split or SplitConfig()
    sp = make_split(X, split)
    y = labels["pass1"].to_numpy(dtype=float)
    skipped = {}
    chosen = {}
    for kind, names, order in (("probe", probes, PROBE_ORDER), ("baseline", baselines, BASELINES)):
        for name in (order if names is None else names):
            why = unavailable_reason(name, X, train_loss)
            if why and names is not None:
                raise ProbecastError(f"{kind} {name!r} cannot run: {why}")
            if why:
                skipped[name] = why
            else:
                chosen[name] = kind
    params = {k: dict(v) for k, v in (probe_params or {}).items()}
    if "hybrid_history" in chosen:  # every question's last label at the training checkpoints, as carry_forward reads
        params.setdefault("hybrid_history", {})["history"] = last_labels(X.subset(sp.history), y[sp.history])
    if train_loss:
        params.setdefault("training_loss", {})["losses"] = {str(k): float(v) for k, v in train_loss.items()}

    X_test = X.subset(sp.test)
    base = pd.DataFrame({"task": X_test.task.astype(str), "checkpoint": X_test.checkpoint.astype(str),
                         "step": X_test.step.astype(int), "question_id": X_test.question_ids.astype(str),
                         "pass1": y[sp.test]})
    sampled = labels["sample_correct"].to_numpy(float) if "sample_correct" in labels else np.full(len(X), np.nan)
    base["sample_correct"] = sampled[sp.test]
    rows, tables, results, fitted, seconds = [], [], {"probe": {}, "baseline": {}}, {}, {}
    X_train, y_train = X.subset(sp.train), y[sp.train]
    with steps("evaluate", len(chosen), show=show_progress) as bar:
        for name, kind in chosen.items():
            bar.describe(name)
            X_fit, y_fit = (X.subset(sp.history), y[sp.history]) if name == "carry_forward" else (X_train, y_train)
            t0 = time.perf_counter()
            method = make_probe(name, **params.get(name, {}))
            if isinstance(method, VoteProbe):  # its members already fitted on these rows are not fitted again
                method.reuse({n: m for n, m in fitted.items() if n != "carry_forward"})
            method = method.fit(X_fit, y_fit)
            seconds[name] = time.perf_counter() - t0
            r = base.assign(method=name, p=method.predict_proba(X_test))
            table = per_checkpoint(r).assign(method=name)
            results[kind][name] = summarise(r, table)
            results[kind][name]["fit_seconds"] = round(seconds[name], 3)
            results[kind][name]["inputs"] = method.inputs()
            rows.append(r)
            tables.append(table)
            fitted[name] = method
            if ws is not None:
                method.save(ws.probe_dir(name))
            bar.advance()

    probe_res, base_res = results["probe"], results["baseline"]
    best = max(probe_res, key=lambda k: -1 if probe_res[k]["auroc_mean"] is None else probe_res[k]["auroc_mean"],
               default=None)
    all_rows = pd.concat(rows, ignore_index=True) if rows else base.iloc[:0].assign(method="", p=0.0)
    summary = {
        "checkpoints": sorted({int(s) for s in X.step}),
        "train_checkpoints": _steps(X, sp.train_checkpoints),
        "test_checkpoints": _steps(X, sp.test_checkpoints),
        "train_checkpoint_ids": sp.train_checkpoints, "test_checkpoint_ids": sp.test_checkpoints,
        "tasks": sorted(set(X.task.astype(str))),
        "probes": probe_res, "best_probe": best, "baselines": base_res,
        "split": {"n_train_questions": sp.n_train_questions, "n_test_questions": sp.n_test_questions,
                  "n_train_rows": int(sp.train.sum()), "n_test_rows": int(sp.test.sum()), **asdict(split)},
        "losses_to_baselines": losses_to_baselines(best, probe_res[best], base_res) if best else [],
        "skipped": skipped,
    }
    if bootstrap is not None and rows:  # each method's `auroc_ci` and every method against every baseline
        b = auroc_bootstrap(all_rows, against=list(base_res), cfg=bootstrap)
        summary["auroc_paired"] = attach_intervals({**probe_res, **base_res}, b)
    if multistep_tasks:
        summary["multistep"] = _multistep(all_rows, list(multistep_tasks))
    return EvalResult(clean(summary), all_rows, pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
                      fitted)


def _steps(X: FeatureSet, ids: list[str]) -> list[int]:
    step_of = dict(zip(X.checkpoint.astype(str), X.step))
    return sorted(int(step_of[i]) for i in ids)


def _multistep(rows: pd.DataFrame, tasks: list[str]) -> dict:
    """Pure hidden-state probes vs the answer log-likelihood, on the multi-step tasks only."""
    sub = rows[rows["task"].isin(tasks)]
    out = {"tasks": sorted(set(sub["task"])), "probes": {}, "answer_loglik": None, "beats_answer_loglik": {},
           "beats_answer_loglik_by_metric": {}}
    if sub.empty:
        return out
    if "answer_loglik" in set(sub["method"]):
        out["answer_loglik"] = summarise(sub[sub["method"] == "answer_loglik"])
    for name in HIDDEN_ONLY:
        if name in set(sub["method"]):
            s = summarise(sub[sub["method"] == name])
            out["probes"][name] = s
            ref = out["answer_loglik"] or {}
            if ref.get("auroc_mean") is not None and s["auroc_mean"] is not None:
                out["beats_answer_loglik"][name] = bool(s["auroc_mean"] > ref["auroc_mean"])
            verdicts = {}
            for metric, higher in HIGHER_IS_BETTER.items():
                mine, theirs = s.get(f"{metric}_mean"), ref.get(f"{metric}_mean")
                if mine is not None and theirs is not None:
                    verdicts[metric] = bool(mine > theirs) if higher else bool(mine < theirs)
            out["beats_answer_loglik_by_metric"][name] = verdicts
    return out


def summary_parts(X: FeatureSet, labels: pd.DataFrame, **kwargs) -> dict:
    """Run `evaluate` and return only the probes / baselines / split blocks of summary.json."""
    return evaluate(X, labels, **kwargs).summary_parts()
