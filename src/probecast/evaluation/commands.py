"""`probecast fit`, `probecast predict`, `probecast evaluate`, `probecast evaluate-in-checkpoint`: thin CLI over
the probes package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from probecast import validate as v
from probecast.errors import ProbecastError
from probecast.lock import writes_workspace

WS_HELP = "Workspace folder (labels/ and features/ inside)."
PARAM_HELP = "Probe parameter KEY=VALUE (VALUE parsed as JSON when it can be), repeatable; evaluate: PROBE.KEY=VALUE."


def _csv(value: Optional[str]) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _check_methods(option: str, names: list[str] | None) -> None:
    """Every name of --probes/--baselines/--methods is a registered probe or baseline (before any work)."""
    from probecast.probes import REGISTRY

    unknown = [n for n in names or [] if n not in REGISTRY]
    if unknown:
        raise ProbecastError(f"{option}: unknown method(s) {', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(sorted(REGISTRY))}")


def _parse_params(items: list[str] | None, nested: bool) -> dict:
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise ProbecastError(f"--param {item!r}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if nested:
            if "." not in key:
                raise ProbecastError(f"--param {item!r}: expected PROBE.KEY=VALUE (e.g. mlp.hidden=256)")
            probe, key = key.split(".", 1)
            out.setdefault(probe, {})[key] = value
        else:
            out[key] = value
    return out


THREADS = typer.Option(None, "--threads", min=1, help="Torch threads, and the in-checkpoint protocol's processes "
                       "(default: $PROBECAST_THREADS, else every core).")


@writes_workspace("fit", create=False)
def fit_cmd(
    ws: Path = typer.Option(..., "--ws", help=WS_HELP, callback=v.workspace_in),
    probe: str = typer.Option("hybrid", "--probe", help="Probe kind: linear, ridge, ridge_layers, mlp, attn_layers, "
                              "attn_tokens, logit_lens, lens_ridge, by_format, vote, hybrid, hybrid_history, or a "
                              "baseline (carry_forward, answer_loglik, answer_loglik_paths, text_difficulty, "
                              "training_loss)."),
    name: Optional[str] = typer.Option(None, "--name", help="Save as W/probes/NAME (default: the probe kind)."),
    checkpoints: Optional[str] = typer.Option(None, "--checkpoints", callback=v.names, help="Comma-separated checkpoint ids to train "
                                              "on (default: every labelled checkpoint)."),
    tasks: Optional[str] = typer.Option(None, "--tasks", callback=v.names, help="Comma-separated tasks (default: all)."),
    param: Optional[List[str]] = typer.Option(None, "--param", help=PARAM_HELP),
    force: bool = typer.Option(False, "--force", help="Replace W/probes/NAME fitted with another kind or parameters."),
    threads: Optional[int] = THREADS,
) -> None:
    """Fit a probe on the labelled checkpoints (soft pass@1 targets) and save it in the workspace."""
    from probecast.evaluation.pipeline import fit_workspace
    from probecast.identity import check_probe_refit
    from probecast.workspace import Workspace
    from probecast.runtime import configure_threads

    configure_threads(threads)
    w = Workspace(ws, create=False)
    params = _parse_params(param, nested=False)
    check_probe_refit(w, name or probe, probe, params, force)
    model, n = fit_workspace(w, probe, name, _csv(checkpoints), _csv(tasks), params)
    extra = f", layer {model.layer_}" if hasattr(model, "layer_") else ""
    typer.echo(f"fitted {probe} on {n} rows{extra} -> {w.probe_dir(name or probe)}")


@writes_workspace("predict", create=False)
def predict_cmd(
    ws: Path = typer.Option(..., "--ws", help=WS_HELP, callback=v.workspace_in),
    probe: str = typer.Option(..., "--probe", help="A fitted probe: its name in W/probes/ (as in summary.json) or a "
                              "probe directory."),
    checkpoints: Optional[str] = typer.Option(None, "--checkpoint", "--checkpoints", callback=v.names,
                                              help="Comma-separated checkpoint ids (default: every one with features)."),
    tasks: Optional[str] = typer.Option(None, "--tasks", callback=v.names, help="Comma-separated tasks (default: all)."),
    n_boot: int = typer.Option(1000, "--n-boot", min=1, help="Bootstrap replicates over questions for the interval."),
    seed: int = typer.Option(0, "--seed", min=0),
    audit: Optional[str] = typer.Option(None, "--audit", help="Also label random questions at each checkpoint by "
                                        "generation and report the prediction-powered (PPI++) task score: N "
                                        "questions (e.g. 32) or a target interval half-width (e.g. 0.05)."),
    audit_samples: int = typer.Option(4, "--audit-samples", min=1, help="Sampled completions per audited question."),
    level: float = typer.Option(0.9, "--level", min=0.5, max=0.999, help="Confidence level of the PPI interval (with --audit)."),
    threads: Optional[int] = THREADS,
) -> None:
    """Predict per-question P(success) -> W/predictions/<probe>/<checkpoint>/<task>.parquet and print task scores."""
    from probecast.evaluation.predict import predict, print_table
    from probecast.workspace import Workspace
    from probecast.runtime import configure_threads

    configure_threads(threads)
    w = Workspace(ws, create=False)
    budget = None
    if audit is not None:
        from probecast.evaluation.ppi import AuditBudget

        budget = AuditBudget.parse(audit)
        if not 0 < level < 1:
            raise ProbecastError(f"--level {level}: must be in (0, 1), e.g. 0.9")
        if audit_samples < 1:
            raise ProbecastError(f"--audit-samples {audit_samples}: must be at least 1")
        if not w.task_specs():  # the audit labels questions of the recorded tasks: refuse before predicting
            raise ProbecastError(f"--audit: {w.tasks_file} records no tasks to label questions of (labels imported "
                                 f"with import-lmeval have none); label with `probecast label --tasks ... --ws "
                                 f"{w.root}` first, or leave --audit out")
    table = predict(w, probe, _csv(checkpoints), _csv(tasks), n_boot=n_boot, seed=seed)
    if budget is not None:
        from probecast.evaluation.audited import audit_table
        from probecast.evaluation.predict import resolve_probe
        from probecast.labels.audit import AuditSettings

        name, _ = resolve_probe(w, probe)
        table = audit_table(w, name, table, budget, AuditSettings(samples=audit_samples, seed=seed, level=level))
    print_table(table, f"probe {probe}: predicted task score (mean P(success), 95% bootstrap interval)"
                + ("" if budget is None else f"; PPI with real labels, {level:.0%} interval"))


@writes_workspace("evaluate", create=False)
def evaluate_cmd(
    ws: Path = typer.Option(..., "--ws", help=WS_HELP, callback=v.workspace_in),
    n_train: Optional[int] = typer.Option(None, "--n-train", min=1, help="Train on the first N labelled checkpoints "
                                          "by step (default: the split summary.json records, else 2)."),
    train_checkpoints: Optional[str] = typer.Option(None, "--train-checkpoints", callback=v.names,
                                                    help="Comma-separated training checkpoint ids (overrides --n-train)."),
    test_fraction: Optional[float] = typer.Option(None, "--test-fraction", min=0.01, max=0.99, help="Fraction of "
                                                  "each task's questions held out (default: as recorded, else 0.3)."),
    probes: Optional[str] = typer.Option(None, "--probes", callback=v.names, help="Comma-separated probes (default: all that fit the features)."),
    baselines: Optional[str] = typer.Option(None, "--baselines", callback=v.names, help="Comma-separated baselines (default: all available)."),
    tasks: Optional[str] = typer.Option(None, "--tasks", callback=v.names, help="Comma-separated tasks (default: all)."),
    train_loss: Optional[Path] = typer.Option(None, "--train-loss", callback=v.input_file, help="JSON {step: training loss} for the "
                                              "training_loss baseline (default: train_loss in checkpoints.json)."),
    multistep: Optional[str] = typer.Option(None, "--multistep", callback=v.names, help="Comma-separated multi-step tasks (default: "
                                            "from label metadata)."),
    param: Optional[List[str]] = typer.Option(None, "--param", help=PARAM_HELP),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Question-split seed (default: as recorded, else 0)."),
    force: bool = typer.Option(False, "--force", help="Replace a recorded evaluation made with other settings."),
    threads: Optional[int] = THREADS,
) -> None:
    """Earlier checkpoints predict later ones on held-out questions: probes vs baselines, per task and averaged.
    Options left out reuse the settings of the evaluation summary.json records (so a rerun reproduces it)."""
    from probecast.evaluation.splits import SplitConfig
    from probecast.evaluation.pipeline import evaluate_workspace
    from probecast.identity import resolve_evaluation
    from probecast.workspace import Workspace
    from probecast.runtime import configure_threads

    configure_threads(threads)
    w = Workspace(ws, create=False)
    chosen = resolve_evaluation(
        w, {"train_checkpoints": _csv(train_checkpoints), "n_train_checkpoints": n_train,
            "test_fraction": test_fraction, "seed": seed},
        {"probe_params": _parse_params(param, nested=True) if param else None, "probes": _csv(probes),
         "baselines": _csv(baselines), "tasks": _csv(tasks)}, force)
    _check_methods("--probes", chosen["probes"])
    _check_methods("--baselines", chosen["baselines"])
    result = evaluate_workspace(w, SplitConfig(**chosen["split"]), chosen["probes"], chosen["baselines"],
                                chosen["tasks"], chosen["probe_params"], train_loss, _csv(multistep))
    print_results(result.summary)
    typer.echo(f"wrote {w.root / 'evaluation'} and {w.summary_file}")


@writes_workspace("evaluate-in-checkpoint", create=False)
def evaluate_in_checkpoint_cmd(
    ws: Path = typer.Option(..., "--ws", help=WS_HELP, callback=v.workspace_in),
    methods: Optional[str] = typer.Option(None, "--methods", callback=v.names, help="Comma-separated probes and baselines (default: "
                                          "linear, ridge, ridge_layers, by_format, vote, logit_lens, lens_ridge, "
                                          "hybrid, answer_loglik, text_difficulty; those the features cannot feed are "
                                          "listed and skipped)."),
    folds: int = typer.Option(5, "--folds", min=2, help="Question folds per checkpoint (stratified by task and label)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Fold seed."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Repeated cross-validation: fold draws seed, seed+1, ...; "
                                "every figure is their mean (less fold noise, `repeats` times the work)."),
    tasks: Optional[str] = typer.Option(None, "--tasks", callback=v.names, help="Comma-separated tasks (default: all)."),
    param: Optional[List[str]] = typer.Option(None, "--param", help=PARAM_HELP + " Left out: the parameters "
                                              "summary.json's in_checkpoint records for the methods run (a rerun "
                                              "reproduces it, e.g. the real demo's pooling), else the defaults "
                                              "(question-fold CV, strong L2 grids)."),
    threads: Optional[int] = THREADS,
) -> None:
    """At every labelled checkpoint, every method is fitted on some questions of that checkpoint and scored on the
    others (the accuracy claim of arXiv 2604.01025); writes summary.json `in_checkpoint`, other keys kept."""
    import torch

    from probecast.evaluation.in_checkpoint import InCheckpointConfig
    from probecast.evaluation.pipeline import in_checkpoint_workspace, write_in_checkpoint
    from probecast.ui import console as make_console
    from probecast.workspace import Workspace
    from probecast.runtime import configure_threads

    configure_threads(threads)
    w = Workspace(ws, create=False)
    names = _csv(methods)
    _check_methods("--methods", names)
    cfg = InCheckpointConfig(n_folds=folds, seed=seed, repeats=repeats, n_jobs=torch.get_num_threads())
    params = _parse_params(param, nested=True) if param else recorded_in_checkpoint_params(w, names)
    block = in_checkpoint_workspace(w, names, cfg, params, _csv(tasks))
    write_in_checkpoint(w, block)
    console = make_console()
    draws = f" x {repeats} fold draws" if repeats > 1 else ""
    console.print(in_checkpoint_table(block, f"in-checkpoint: {folds} question folds{draws} at each of "
                                             f"{len(block['protocol']['checkpoints'])} checkpoints"))
    for name, why in block["protocol"].get("unavailable", {}).items():
        console.print(f"skipped {name}: {why}")
    typer.echo(f"wrote {w.summary_file} (in_checkpoint)")


def recorded_in_checkpoint_params(w, methods: list[str] | None) -> dict | None:
    """The per-method parameters the recorded in-checkpoint block ran with, for the methods of this run."""
    from probecast.evaluation.in_checkpoint import IN_CHECKPOINT_METHODS

    recorded = ((w.read_summary().get("in_checkpoint") or {}).get("protocol") or {}).get("params") or {}
    run = set(methods or IN_CHECKPOINT_METHODS)
    return {m: p for m, p in recorded.items() if m in run} or None


def in_checkpoint_table(block: dict, title: str, tasks: list[str] | None = None):
    """Methods × (inputs, AUROC mean, its interval, AUROC per task) of a summary.json `in_checkpoint` block."""
    from rich.table import Table

    methods = block["methods"]
    tasks = tasks or sorted({t for m in methods.values() for t in m["auroc_by_task"]})
    t = Table("method", "inputs", "AUROC mean", ci_header(block.get("auroc_paired")), *tasks, title=title)
    for name, m in methods.items():
        t.add_row(name, "+".join(m.get("inputs", [])), fmt_num(m["auroc_mean"]), fmt_ci(m.get("auroc_ci")),
                  *(fmt_num(m["auroc_by_task"].get(task)) for task in tasks))
    return t


def ci_header(paired: dict | None) -> str:
    """The interval column's header: its level when the summary has one."""
    return f"AUROC {paired['level']:.0%} CI" if paired else "AUROC CI"


def fmt_num(x) -> str:
    """A metric to three decimals, n/a when the summary has none."""
    return "n/a" if x is None else f"{x:.3f}"


def print_results(s: dict) -> None:
    from probecast.ui import console as make_console
    from rich.table import Table

    console = make_console()
    t = Table(caption="* best probe; below the line: baselines", title=f"train steps {s['train_checkpoints']} -> test steps {s['test_checkpoints']}; "
                    f"{s['split']['n_test_questions']} held-out questions")
    cols = [("auroc_mean", "AUROC"), ("auroc_sampled_mean", "AUROC(sample)"), ("brier_mean", "Brier"),
            ("ece_mean", "ECE"), ("task_abs_err_mean", "|task err|"), ("spearman_mean", "Spearman"),
            ("fit_seconds", "fit s")]
    t.add_column("method")
    t.add_column(cols[0][1], justify="right")
    paired = s.get("auroc_paired")
    t.add_column(f"{paired['level']:.0%} CI" if paired else "CI", justify="right")
    for _, label in cols[1:]:
        t.add_column(label, justify="right")
    for kind in ("probes", "baselines"):
        for name, r in s[kind].items():
            star = " *" if name == s.get("best_probe") else ""
            vals = ["-" if r.get(k) is None else f"{r[k]:.3f}" for k, _ in cols]
            t.add_row(f"{name}{star}", vals[0], fmt_ci(r.get("auroc_ci")), *vals[1:])
        t.add_section()
    console.print(t)
    if paired:
        console.print(f"CI: {paired['level']:.0%} {paired.get('interval', 'percentile')} interval of the AUROC mean "
                      f"over {paired['boot']} resamples of the held-out questions (a question keeps its rows at "
                      f"every test checkpoint).")
    console.print(per_task_auroc_table(s))
    losses = s.get("losses_to_baselines", [])
    if losses:
        console.print(f"[bold]Where the best probe ({s['best_probe']}) loses to a baseline "
                      f"(probe vs baseline; AUROC/Spearman higher is better, Brier/|task err| lower):[/bold]")
        groups: dict = {}
        for x in losses:
            groups.setdefault((x["baseline"], x["metric"]), []).append(
                f"{x['task']} {x['probe_value']:.3f} vs {x['baseline_value']:.3f}")
        for (baseline, metric), items in groups.items():
            console.print(f"  {metric} worse than {baseline}: " + "; ".join(items))
        for baseline, gap in gaps_below(s).items():
            console.print(f"  mean AUROC gap to {baseline}: {gap['diff']:+.3f}, {paired['level']:.0%} interval "
                          f"[{gap['lo']:+.3f}, {gap['hi']:+.3f}] (above it on {gap['p_above']:.0%} of resamples)")
    elif s.get("best_probe"):
        console.print(f"The best probe ({s['best_probe']}) beats every baseline on every task and metric.")
    ms = s.get("multistep")
    if ms and ms.get("tasks"):
        ref = (ms.get("answer_loglik") or {}).get("auroc_mean")
        ref_err = (ms.get("answer_loglik") or {}).get("task_abs_err_mean")
        console.print(f"Multi-step tasks {ms['tasks']}, pure hidden-state probes vs answer_loglik (AUROC "
                      f"{'-' if ref is None else f'{ref:.3f}'}, task err {'-' if ref_err is None else f'{ref_err:.3f}'}):")
        for name, r in ms["probes"].items():
            v = r.get("auroc_mean")
            verdicts = ms.get("beats_answer_loglik_by_metric", {}).get(name, {})
            detail = ", ".join(f"{m} {'beats' if ok else 'LOSES'}" for m, ok in verdicts.items())
            console.print(f"  {name}: AUROC {'-' if v is None else f'{v:.3f}'}, task err "
                          f"{'-' if r.get('task_abs_err_mean') is None else format(r['task_abs_err_mean'], '.3f')}"
                          f"{'' if not detail else '  (' + detail + ')'}")
    for name, why in s.get("skipped", {}).items():
        console.print(f"skipped {name}: {why}")


def fmt_ci(ci) -> str:
    """[lo, hi] of a question bootstrap, or '-' when the summary has none."""
    return "-" if not ci or None in ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def gaps_below(s: dict) -> dict:
    """{baseline: the best probe's paired AUROC gap} for every baseline whose mean AUROC is above the best's."""
    best, paired = s.get("best_probe"), s.get("auroc_paired") or {}
    out = {}
    for x in s.get("losses_to_baselines", []):
        gap = paired.get("against", {}).get(x["baseline"], {}).get(best)
        if x["metric"] == "auroc" and x["task"] == "mean" and gap and gap.get("lo") is not None:
            out[x["baseline"]] = gap
    return out


def per_task_auroc_table(s: dict):
    """Methods × tasks AUROC: where a mean hides a task on which a method fails."""
    from rich.table import Table

    tasks = list(s.get("tasks", []))
    t = Table(title="AUROC per task (test checkpoints, held-out questions)")
    t.add_column("method")
    for task in tasks:
        t.add_column(task, justify="right")
    for kind in ("probes", "baselines"):
        for name, r in s[kind].items():
            by = r.get("auroc_by_task", {})
            t.add_row(name, *("-" if by.get(task) is None else f"{by[task]:.2f}" for task in tasks))
        t.add_section()
    return t


def register(app: typer.Typer) -> None:
    app.command("fit")(fit_cmd)
    app.command("predict")(predict_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("evaluate-in-checkpoint")(evaluate_in_checkpoint_cmd)
