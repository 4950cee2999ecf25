"""The COD picture: every cluster's mean pass rate over compute with its fitted law, and the subset->full mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from probecast.forecast.cod.law import cluster_law
from probecast.io import save_figure


def plot_cod(curves: dict, target_compute: float, predicted: float, interval: tuple[float, float],
             path: str | Path, title: str = "") -> Path:
    """Left: per-cluster curves (solid = predictable, dashed = excluded), extrapolated to the target compute.
    Right: the monotone mapping with its anchor models and the forecast."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compute, unit, g = np.asarray(curves["compute"]), curves["unit"], curves["chance"]
    grid = np.geomspace(compute[0], max(target_compute, compute[-1]) * 1.05, 200)
    fig, (ax, axm) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1.6, 1]})
    cmap = plt.get_cmap("viridis")
    clusters = curves["clusters"]
    for i, row in enumerate(clusters):
        color = cmap(i / max(len(clusters) - 1, 1))
        ok = row["predictable"]
        ax.plot(compute, row["mean_curve"], "o", color=color, ms=4, alpha=0.9 if ok else 0.4)
        ax.plot(grid, cluster_law(grid / unit, row["a"], row["b"], row["c"], g, row.get("sigma", 0.0)), "-" if ok else "--",
                color=color, alpha=0.9 if ok else 0.4, label=f"c{row['cluster']} n={row['size']}" + ("" if ok else " (excl.)"))
    ax.axvline(target_compute, color="k", lw=0.8, ls=":")
    ax.errorbar([target_compute], [predicted], yerr=[[predicted - interval[0]], [interval[1] - predicted]],
                fmt="*", color="crimson", ms=12, capsize=4, label="task forecast")
    ax.set_xscale("log")
    ax.set_xlabel("training compute (FLOPs)")
    ax.set_ylabel("mean pass rate")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.set_title(title or "COD: per-cluster performance laws")

    xs = np.linspace(0, 1, 101)
    axm.plot(xs, curves["mapping"].predict(xs), "-", color="C0", label="monotone mapping")
    axm.plot(xs, xs, ":", color="grey", lw=0.8)
    axm.plot(curves["anchor_subset"], curves["anchor_full"], "o", color="C1", label="anchor models")
    axm.set_xlabel("predictable-subset score")
    axm.set_ylabel("full-set score")
    axm.legend(fontsize=8)
    axm.set_title("subset -> full mapping")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
