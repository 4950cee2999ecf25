"""The report's figures (matplotlib, Agg), each returned as PNG bytes to be embedded in the page.

- `scores_over_training`: per task, actual pass@1 over training (labels, all questions) with the monitor's
  predictions (interval band, audits as crosses) and the evaluation's best probe on held-out questions
  (interval band; its actual on the same questions dotted). Training checkpoints are dotted verticals.
- `auroc_by_task`: per-task AUROC of every probe and baseline.
- `calibration`: reliability diagram of the best probe per task (mean prediction vs mean actual pass@1 in
  equal-width bins of the prediction), test rows only.
- `latency`: seconds per checkpoint of generative evaluation, the probe and the prefill floor, plus the
  monitor's median evaluation time when there is one.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from probecast.report.data import ReportData, best_rows, latest_monitor


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _plt().close(fig)
    return buf.getvalue()


def _grid(n: int, width: float = 4.0, height: float = 3.0):
    ncol = min(3, max(n, 1))
    nrow = (max(n, 1) + ncol - 1) // ncol
    fig, axes = _plt().subplots(nrow, ncol, figsize=(width * ncol, height * nrow), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def scores_over_training(d: ReportData) -> bytes | None:
    best, mon = best_rows(d), latest_monitor(d)
    tasks = sorted(set(d.actual.get("task", [])) | set(best.get("task", [])) | set(mon.get("task", [])))
    if not tasks:
        return None
    fig, axes = _grid(len(tasks))
    steps = []
    for ax, task in zip(axes, tasks):
        a = d.actual[d.actual["task"] == task] if not d.actual.empty else pd.DataFrame()
        if not a.empty:
            ax.plot(a["step"], a["actual"], "k-o", ms=3, lw=2, label="actual pass@1 (all questions)")
            steps += list(a["step"])
        m = mon[mon["task"] == task].sort_values("step") if not mon.empty else pd.DataFrame()
        if not m.empty:
            line, = ax.plot(m["step"], m["pred_pass1"], "-", color="tab:blue", lw=1.5, label="monitor prediction")
            ax.fill_between(m["step"], m["pred_pass1_lo"], m["pred_pass1_hi"], color=line.get_color(), alpha=0.2)
            if "audit_pass1" in m and m["audit_pass1"].notna().any():
                au = m[m["audit_pass1"].notna()]
                ax.plot(au["step"], au["audit_pass1"], "x", color="tab:red", ms=7, label="audit (generative)")
            steps += list(m["step"])
        b = best[best["task"] == task] if not best.empty else pd.DataFrame()
        if not b.empty:
            line, = ax.plot(b["step"], b["pred_score"], "--", color="tab:orange", lw=1.5,
                            label=f"{d.best_probe} (held-out questions)")
            ax.fill_between(b["step"], b["pred_lo"], b["pred_hi"], color=line.get_color(), alpha=0.2)
            ax.plot(b["step"], b["true_score"], ":", color="dimgrey", lw=1.5, label="actual (held-out questions)")
            steps += list(b["step"])
        for s in d.train_steps:
            ax.axvline(s, color="grey", lw=0.8, ls=":")
        if steps and min(steps) > 0 and max(steps) / min(steps) > 20:
            ax.set_xscale("log")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("training step", fontsize=8)
        ax.set_ylabel("task score (pass@1)", fontsize=8)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return _png(fig)


def auroc_by_task(d: ReportData) -> bytes | None:
    methods = {**{k: v for k, v in (d.summary.get("probes") or {}).items()},
               **{k: v for k, v in (d.summary.get("baselines") or {}).items()}}
    methods = {k: v.get("auroc_by_task") or {} for k, v in methods.items() if v.get("auroc_by_task")}
    if not methods:
        return None
    tasks = sorted({t for v in methods.values() for t in v})
    plt = _plt()
    fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 1.2 * len(tasks) + 2)), 3.6))
    width = 0.8 / len(methods)
    x = np.arange(len(tasks))
    for i, (name, by_task) in enumerate(methods.items()):
        vals = [by_task.get(t) if by_task.get(t) is not None else np.nan for t in tasks]
        ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=name + (" *" if name == d.best_probe else ""))
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, tasks, fontsize=8, rotation=30)
    ax.set_ylim(0, 1)
    ax.set_ylabel("AUROC (test checkpoints)")
    ax.legend(fontsize=6, ncol=1, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return _png(fig)


def calibration_bins(rows: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """task, bin, mean prediction, mean actual pass@1 and row count per non-empty bin."""
    r = rows.assign(bin=np.minimum((rows["p"].to_numpy() * n_bins).astype(int), n_bins - 1))
    return (r.groupby(["task", "bin"], as_index=False)
            .agg(mean_p=("p", "mean"), mean_pass1=("pass1", "mean"), n=("p", "size")))


def calibration(d: ReportData) -> bytes | None:
    if d.predictions.empty or d.best_probe is None:
        return None
    bins = calibration_bins(d.predictions[d.predictions["method"] == d.best_probe])
    if bins.empty:
        return None
    tasks = sorted(set(bins["task"]))
    fig, axes = _grid(len(tasks), 3.0, 3.0)
    for ax, task in zip(axes, tasks):
        b = bins[bins["task"] == task]
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        ax.plot(b["mean_p"], b["mean_pass1"], "o-", color="tab:orange", ms=3)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("predicted P(success)", fontsize=8)
        ax.set_ylabel("actual pass@1", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def latency_values(d: ReportData) -> dict[str, float]:
    lat = {k: float(v) for k, v in (d.summary.get("latency_s") or {}).items() if isinstance(v, (int, float))}
    mon = latest_monitor(d)
    if not mon.empty and "eval_latency_s" in mon:
        per_eval = mon.drop_duplicates([c for c in ("run", "probe", "step") if c in mon])["eval_latency_s"]
        lat["monitor (median)"] = float(per_eval.median())
    return lat


def latency(d: ReportData) -> bytes | None:
    lat = latency_values(d)
    if not lat:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(lat) + 1.2))
    names = list(lat)
    ax.barh(names, [lat[n] for n in names], color=["tab:red" if n == "generative" else "tab:blue" for n in names])
    for i, n in enumerate(names):
        ax.text(lat[n], i, f" {lat[n]:.2f}s", va="center", fontsize=8)
    ax.set_xlabel("wall seconds per checkpoint")
    ax.invert_yaxis()
    fig.tight_layout()
    return _png(fig)
