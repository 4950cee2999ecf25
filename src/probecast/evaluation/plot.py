"""Predicted vs actual task score over training, one panel per task (PNG, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from probecast.io import save_figure


def plot_task_scores(table: pd.DataFrame, path: str | Path, methods: list[str], train_steps: list[int],
                     history: pd.DataFrame | None = None,
                     title: str = "predicted vs actual task score of the held-out questions "
                                  "(grey: at the training checkpoints)") -> Path:
    """`table`: per (method, task, checkpoint) rows from the evaluation (pred_score, pred_lo/hi, true_score).
    `history` (task, step, true_score): the same questions' actual score at the training checkpoints, drawn in
    grey so that each panel shows the whole curve the probe was asked to continue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted(set(table["task"]))
    ncol = min(3, len(tasks)) or 1
    nrow = (len(tasks) + ncol - 1) // ncol or 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        t = table[table["task"] == task]
        truth = t.drop_duplicates("step").sort_values("step")
        if history is not None and (history["task"] == task).any():
            h = pd.concat([history[history["task"] == task], truth.head(1)]).sort_values("step")
            ax.plot(h["step"], h["true_score"], "-o", color="grey", lw=1.5, ms=3, label="actual (training ckpts)")
        ax.plot(truth["step"], truth["true_score"], "k-o", lw=2, ms=3, label="actual pass@1")
        for i, m in enumerate(methods):
            r = t[t["method"] == m].sort_values("step")
            if r.empty:
                continue
            line, = ax.plot(r["step"], r["pred_score"], "-" if i == 0 else "--", lw=1.5 if i == 0 else 1, label=m)
            if i == 0:
                ax.fill_between(r["step"], r["pred_lo"], r["pred_hi"], color=line.get_color(), alpha=0.2)
        for s in train_steps:
            ax.axvline(s, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("step (dotted: training checkpoints)", fontsize=8)
        ax.set_ylabel("task score", fontsize=8)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
