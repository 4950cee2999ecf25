"""`run_dynamics`: every task-dynamics analysis on one score matrix, written as CSVs, plots and a report.

Outputs in `out/`: report.md + report.html, heatmap.png (clustered task correlation), loto.png
(leave-one-task-out errors and example trajectories), progress.png (domain progress curves), and the tables
as CSV: correlation.csv, domain_correlation.csv, loto.csv, loto_domains.csv, leadlag.csv, t50.csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from probecast.dynamics.correlation import domain_correlation, plot_heatmap, task_correlation
from probecast.dynamics.domains import short_name
from probecast.dynamics.leadlag import LeadLagConfig, lead_lag, plot_progress
from probecast.dynamics.predict import LotoConfig, domain_summary, leave_one_task_out, trajectories
from probecast.dynamics.report import Report
from probecast.dynamics.scores import ScoreMatrix
from probecast.io import atomic_path, save_figure


@dataclass
class DynamicsConfig:
    metric: str = "acc"
    loto: LotoConfig = field(default_factory=LotoConfig)
    leadlag: LeadLagConfig = field(default_factory=LeadLagConfig)


def _csv(df: pd.DataFrame, path: Path, index: bool = False) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)


def plot_loto(sm: ScoreMatrix, loto: pd.DataFrame, cfg: LotoConfig, path: Path) -> Path:
    """Left: per-task MAE, regression vs mean-of-domain. Right: held-out trajectories of the largest run for
    the task of every domain where the regression gains most."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5.5))
    names = sorted(loto["domain"].unique())
    cmap = plt.get_cmap("tab10")
    for i, d in enumerate(names):
        sub = loto[loto["domain"] == d]
        ax.scatter(sub["mae_mean_of_domain"], sub["mae_regression"], s=18, color=cmap(i % 10), label=d)
    lim = [min(loto[["mae_regression", "mae_mean_of_domain"]].min()) * 0.8,
           max(loto[["mae_regression", "mae_mean_of_domain"]].max()) * 1.2]
    ax.plot(lim, lim, "k:", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="MAE, mean of domain", ylabel="MAE, regression on seen tasks",
           title="leave-one-task-out error per task (below the line: regression wins)")
    ax.legend(fontsize=7)
    last = sm.index.groupby("run")["tokens"].max().idxmax()  # the run trained longest (ties: first)
    for i, d in enumerate(names):
        sub = loto[loto["domain"] == d]
        task = sub.loc[(sub["mae_mean_of_domain"] - sub["mae_regression"]).idxmax(), "task"]
        tr = trajectories(sm, task, last, cfg)
        color = cmap(i % 10)
        ax2.plot(tr["tokens"], tr["actual"], "-", color=color, label=short_name(task))
        ax2.plot(tr["tokens"], tr["regression"], "--", color=color)
        ax2.plot(tr["tokens"], tr["mean_of_domain"], ":", color=color, alpha=0.6)
    ax2.set(xscale="log", xlabel="training tokens", ylabel="score",
            title=f"{last}: actual (solid), regression (dashed), mean of domain (dotted)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _loto_section(sm: ScoreMatrix, cfg: DynamicsConfig, out: Path, report: Report):
    """Leave-one-task-out tables, plot and report text; (None, None) when no domain has two tasks."""
    if not any(len(tasks) >= 2 for tasks in sm.domain_tasks().values()):
        report.text("No domain has two or more tasks, so no task can be predicted from seen tasks of its domain "
                    "(label more tasks, or group them with --domains).")
        return None, None
    loto = leave_one_task_out(sm, cfg.loto)
    summary = domain_summary(loto)
    _csv(loto, out / "loto.csv")
    _csv(summary, out / "loto_domains.csv")
    plot_loto(sm, loto, cfg.loto, out / "loto.png")
    split = cfg.loto.split if cfg.loto.split != "auto" else ("run" if len(sm.runs) >= 2 else "time")
    report.text(f"Each task's trajectory is predicted from the other tasks of its domain with a ridge regression "
                f"over checkpoints (split: {split}; the predicted run/checkpoints never contribute the held-out task), "
                "against the mean of the domain's other tasks, and that mean linearly rescaled to the task on the same "
                "training rows (scaled_mean). Mean absolute error over the predicted checkpoints.")
    report.table(summary)
    report.image("loto.png", "leave-one-task-out errors and example trajectories")
    report.table(loto.assign(task=loto["task"].map(short_name)))
    return loto, summary


def run_dynamics(sm: ScoreMatrix, out: Path, cfg: DynamicsConfig, sources: list[str], progress: bool = True) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    domains = sm.domain_tasks()
    report = Report("Task dynamics across checkpoints")
    report.text(f"Sources: {', '.join(sources)}. Metric: {cfg.metric}. {len(sm.runs)} run(s), "
                f"{len(sm.index)} checkpoints, {len(sm.tasks)} tasks in {len(domains)} domains.")
    report.table(pd.DataFrame([{"domain": d, "tasks": len(t), "members": ", ".join(short_name(x) for x in t[:8])
                                + (" ..." if len(t) > 8 else "")} for d, t in domains.items()]))

    corr = task_correlation(sm)
    dom_corr = domain_correlation(corr, sm.domains)
    _csv(corr, out / "correlation.csv", index=True)
    _csv(dom_corr, out / "domain_correlation.csv", index=True)
    plot_heatmap(corr, sm.domains, out / "heatmap.png", f"task correlation across checkpoints ({cfg.metric})")
    report.heading("Correlation of tasks across checkpoints")
    report.text("Pearson r between two tasks' scores over the checkpoints of a run, averaged over runs (Fisher z). "
                "Below: mean r between the tasks of two domains (diagonal: within the domain).")
    report.table(dom_corr.reset_index(names="domain"))
    report.image("heatmap.png", "clustered task correlation (colour strip: domain)")

    report.heading("Task-dynamic prediction (leave one task out)")
    loto, summary = _loto_section(sm, cfg, out, report)

    lags, t50 = lead_lag(sm, cfg.leadlag, progress=progress)
    _csv(lags, out / "leadlag.csv")
    _csv(t50, out / "t50.csv", index=True)
    plot_progress(sm, t50, out / "progress.png", "domain progress vs tokens (dotted: median t50)")
    report.heading("Cross-domain lead/lag")
    report.text(f"t50 = log10 tokens at which a domain (mean of its tasks, isotonic in tokens) covers half its gain "
                f"on a run (undefined when the gain is < {cfg.leadlag.min_gain}). lag = mean over runs of "
                f"t50(follower) - t50(leader), in decades of tokens; {cfg.leadlag.level:.0%} bootstrap interval "
                f"over runs and tasks ({cfg.leadlag.n_boot} replicates); p_leader_first = share of replicates "
                "with lag > 0. Descriptive, not causal.")
    if lags.empty:
        report.text("Only one domain with scores: there is no cross-domain pair to compare.")
    else:
        report.table(lags)
    report.image("progress.png", "normalised domain progress")
    report.table(t50.reset_index(names="run").round(3))
    md, page = report.write(out)
    return {"report_md": str(md), "report_html": str(page), "tasks": len(sm.tasks), "runs": len(sm.runs),
            "loto": loto, "summary": summary, "leadlag": lags, "domain_correlation": dom_corr}
