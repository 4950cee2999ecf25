"""How tasks move together across checkpoints (within and across domains), with a clustered heat map.

The correlation of two tasks is computed across the checkpoints of each run separately and averaged over runs
in Fisher-z space: pooling checkpoints of different model sizes would mostly measure "bigger models are better
at everything". Tasks are ordered by average-linkage hierarchical clustering of 1 - r, so blocks of tasks that
learn together sit together; a colour strip shows each task's domain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from probecast.dynamics.domains import short_name
from probecast.dynamics.scores import ScoreMatrix
from probecast.io import save_figure


def task_correlation(sm: ScoreMatrix) -> pd.DataFrame:
    """Task x task Pearson r across checkpoints, averaged over runs (Fisher z)."""
    zs = []
    for run in sm.runs:
        block = sm.scores.iloc[sm.rows_of(run)]
        block = block.loc[:, block.std() > 0]  # a constant task has no correlation in this run
        r = block.corr().reindex(index=sm.tasks, columns=sm.tasks).to_numpy()
        zs.append(np.arctanh(np.clip(r, -0.999999, 0.999999)))
    z = np.nanmean(np.stack(zs), axis=0)
    r = np.tanh(z)
    np.fill_diagonal(r, 1.0)
    return pd.DataFrame(r, index=sm.tasks, columns=sm.tasks)


def domain_correlation(corr: pd.DataFrame, domains: dict[str, str]) -> pd.DataFrame:
    """Mean r between the tasks of every pair of domains (diagonal: within a domain, self-pairs excluded)."""
    names = sorted(set(domains.values()))
    out = pd.DataFrame(np.nan, index=names, columns=names)
    r = corr.to_numpy()
    dom = np.array([domains[t] for t in corr.index])
    for a in names:
        for b in names:
            block = r[np.ix_(dom == a, dom == b)]
            if a == b:
                block = block[~np.eye(len(block), dtype=bool)]
            out.loc[a, b] = np.nanmean(block) if block.size else np.nan
    return out


def cluster_order(corr: pd.DataFrame) -> list[str]:
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    d = 1.0 - np.nan_to_num(corr.to_numpy(), nan=0.0)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    order = leaves_list(linkage(squareform(np.clip(d, 0, 2), checks=False), method="average"))
    return [corr.index[i] for i in order]


def plot_heatmap(corr: pd.DataFrame, domains: dict[str, str], path: str | Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    order = cluster_order(corr)
    mat = corr.loc[order, order].to_numpy()
    names = sorted(set(domains.values()))
    dom_idx = np.array([names.index(domains[t]) for t in order])
    n = len(order)
    size = min(4 + 0.16 * n, 22)
    fig = plt.figure(figsize=(size + 2.5, size))
    ax_strip = fig.add_axes([0.2, 0.1, 0.015, 0.8])
    ax = fig.add_axes([0.22, 0.1, 0.62, 0.8])
    ax_cb = fig.add_axes([0.86, 0.1, 0.015, 0.8])
    palette = plt.get_cmap("tab10")
    ax_strip.imshow(dom_idx[:, None], aspect="auto", cmap=ListedColormap([palette(i % 10) for i in range(len(names))]),
                    vmin=-0.5, vmax=len(names) - 0.5, interpolation="nearest")
    ax_strip.set_xticks([])
    ax_strip.set_yticks(range(n))
    ax_strip.set_yticklabels([short_name(t) for t in order], fontsize=max(4, 9 - n // 20))
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.colorbar(im, cax=ax_cb, label="Pearson r across checkpoints (mean over runs)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette(i % 10)) for i in range(len(names))]
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 4), fontsize=8, frameon=False)
    return save_figure(fig, path)
