"""Workspace-level steps behind `probecast fit` and `probecast evaluate` (also called by the demo).

- `fit_workspace`: fit one probe on every labelled row of the chosen checkpoints/tasks -> W/probes/<name>/.
- `evaluate_workspace`: run the evaluation protocol on the workspace, save the fitted probes/baselines under
  their summary names, write W/evaluation/{evaluation.json, per_checkpoint.parquet, predictions.parquet,
  task_scores.png} and merge the result keys into W/summary.json (other keys, e.g. latency_s, are kept).
- `in_checkpoint_workspace`: the in-checkpoint protocol (`evaluation.in_checkpoint`) on every labelled
  checkpoint, each method's `inputs` recorded; `write_in_checkpoint` merges it into W/summary.json `in_checkpoint`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from probecast.errors import ProbecastError
from probecast.identity import evaluation_settings
from probecast.io import write_json_atomic, write_parquet_atomic
from probecast.probes.base import Probe, make_probe
from probecast.evaluation.data import feature_index, load_pairs, multistep_tasks, select, train_losses
from probecast.evaluation.evaluate import EvalResult, evaluate, unavailable_reason
from probecast.evaluation.in_checkpoint import (IN_CHECKPOINT_METHODS, IN_CHECKPOINT_PARAMS, InCheckpointConfig,
                                                evaluate_in_checkpoint)
from probecast.evaluation.splits import SplitConfig
from probecast.evaluation.plot import plot_task_scores
from probecast.workspace import Workspace

SUMMARY_KEYS = ("checkpoints", "train_checkpoints", "test_checkpoints", "tasks", "probes", "best_probe",
                "baselines", "split", "losses_to_baselines", "auroc_paired", "multistep", "skipped",
                "evaluation_settings")


def fit_workspace(ws: Workspace, probe: str, name: str | None = None, checkpoints: list[str] | None = None,
                  tasks: list[str] | None = None, params: dict | None = None) -> tuple[Probe, int]:
    pairs = select(feature_index(ws), checkpoints, tasks, labelled=True)
    X, labels = load_pairs(ws, pairs, labelled=True)
    model = make_probe(probe, **(params or {})).fit(X, labels["pass1"].to_numpy(float))
    model.save(ws.probe_dir(name or probe))
    return model, len(X)


def evaluate_workspace(ws: Workspace, split: SplitConfig | None = None, probes: list[str] | None = None,
                       baselines: list[str] | None = None, tasks: list[str] | None = None,
                       probe_params: dict | None = None, train_loss_file: str | Path | None = None,
                       multistep: list[str] | None = None, show_progress: bool = True) -> EvalResult:
    index = select(feature_index(ws), None, tasks, labelled=True)
    X, labels = load_pairs(ws, index, labelled=True)
    losses = train_losses(ws, train_loss_file)
    unknown = sorted(set(multistep or []) - set(X.task.astype(str)))
    if unknown:
        raise ProbecastError(f"--multistep: {unknown} are not among the labelled tasks "
                             f"({', '.join(sorted(set(X.task.astype(str))))}); name tasks of the workspace")
    if baselines is not None and "training_loss" in baselines and not losses:
        raise ProbecastError("training_loss baseline: no training loss found; give --train-loss FILE "
                             "(JSON {step: loss}) or record train_loss in checkpoints.json")
    result = evaluate(X, labels, probes=probes, baselines=baselines, split=split, probe_params=probe_params,
                      train_loss=losses or None,
                      multistep_tasks=multistep if multistep is not None else multistep_tasks(ws, index),
                      ws=ws, show_progress=show_progress)
    result.summary["evaluation_settings"] = evaluation_settings(split or SplitConfig(), probe_params, probes,
                                                                baselines, tasks)
    write_outputs(ws, result, training_history(labels, result))
    return result


def training_history(labels: pd.DataFrame, result: EvalResult) -> pd.DataFrame:
    """Actual task score of the held-out questions at the training checkpoints (for the plot)."""
    train_steps = set(result.summary.get("train_checkpoints") or [])
    if result.rows.empty or not train_steps:
        return pd.DataFrame(columns=["task", "step", "true_score"])
    test_questions = result.rows[["task", "question_id"]].drop_duplicates().astype(str)
    early = labels.loc[labels["step"].isin(train_steps), ["task", "question_id", "step", "pass1"]]
    early = early.astype({"task": str, "question_id": str}).merge(test_questions, on=["task", "question_id"])
    return early.groupby(["task", "step"], as_index=False)["pass1"].mean().rename(columns={"pass1": "true_score"})


def write_outputs(ws: Workspace, result: EvalResult, history: pd.DataFrame | None = None) -> None:
    out = ws.root / "evaluation"
    write_json_atomic(out / "evaluation.json", result.summary)
    write_parquet_atomic(out / "per_checkpoint.parquet", result.table)
    write_parquet_atomic(out / "predictions.parquet", result.rows)
    s = result.summary
    if s["best_probe"] is not None and not result.table.empty:
        methods = [s["best_probe"]] + [b for b in ("answer_loglik", "carry_forward") if b in s["baselines"]]
        plot_task_scores(result.table, out / "task_scores.png", methods, s["train_checkpoints"], history)
    summary = ws.read_summary()
    for k in SUMMARY_KEYS:  # a key this evaluation did not produce is not left over from an earlier one
        if k in s:
            summary[k] = s[k]
        else:
            summary.pop(k, None)
    write_json_atomic(ws.summary_file, summary)


def in_checkpoint_workspace(ws: Workspace, methods: list[str] | None = None, cfg: InCheckpointConfig | None = None,
                            params: dict | None = None, tasks: list[str] | None = None,
                            show_progress: bool = True) -> dict:
    """The summary.json `in_checkpoint` block: `methods` (default `IN_CHECKPOINT_METHODS`; those the features
    cannot feed are listed under `protocol.unavailable`) with `IN_CHECKPOINT_PARAMS` updated by `params`
    ({method: {key: value}})."""
    methods = list(methods or IN_CHECKPOINT_METHODS)
    chosen = {m: {**IN_CHECKPOINT_PARAMS.get(m, {}), **(params or {}).get(m, {})} for m in methods}
    unknown = sorted(set(params or {}) - set(methods))
    if unknown:
        raise ProbecastError(f"--param names {unknown}, which are not among the methods run ({', '.join(methods)})")
    made = {m: make_probe(m, **chosen[m]) for m in methods}  # an unknown method or parameter: one line, before any work
    X, labels = load_pairs(ws, select(feature_index(ws), None, tasks, labelled=True), labelled=True)
    per_checkpoint = pd.Series(X.checkpoint.astype(str)).value_counts()
    n_folds = (cfg or InCheckpointConfig()).n_folds
    if len(per_checkpoint) and n_folds > per_checkpoint.min():  # folds deal a checkpoint's rows: none may be empty
        raise ProbecastError(f"--folds {n_folds}: checkpoint {per_checkpoint.idxmin()!r} has only "
                             f"{per_checkpoint.min()} labelled rows (questions x tasks), so some folds would be "
                             f"empty; give --folds {per_checkpoint.min()} or fewer")
    unavailable = {m: r for m in methods if (r := unavailable_reason(m, X, None)) is not None}
    run = [m for m in methods if m not in unavailable]
    if not run:
        raise ProbecastError(f"in-checkpoint: no method can run on these features ({unavailable})")
    res = evaluate_in_checkpoint(X, labels["pass1"].to_numpy(float), run, cfg, chosen, show_progress)
    for name, m in res["methods"].items():
        m["inputs"] = made[name].inputs()
    res["protocol"]["unavailable"] = unavailable
    res["protocol"]["params"] = {m: chosen[m] for m in res["methods"]}
    return res


def write_in_checkpoint(ws: Workspace, block: dict) -> None:
    """Merge the block into W/summary.json as `in_checkpoint` (every other key kept)."""
    summary = ws.read_summary()
    summary["in_checkpoint"] = block
    write_json_atomic(ws.summary_file, summary)
