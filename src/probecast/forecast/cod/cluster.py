"""Clustering questions by their difficulty curves (COD step 2, arXiv 2502.17262).

A question's difficulty feature is its pass-rate vector over the model series (models sorted by compute).
Features are scaled by 1/sqrt(#models), so distances, bandwidth and radius are RMS pass-rate differences and
do not grow with the length of the series.

The paper's *improved MeanShift* adds two constraints to plain MeanShift:
* a cap on the cluster radius (largest member distance to the centre): a cluster wider than the cap is
  re-clustered with half the bandwidth, recursively; members still beyond the cap at the last level are outliers;
* a minimum cluster size: smaller clusters are outliers (label -1), not fitted, and excluded from the subset.
Outliers are the irregular questions whose curve follows no group; dropping them from the fits is what makes
the laws predictable (the forecaster still counts each with its nearest cluster, `nearest_cluster`). K-Means and
DBSCAN are available for comparison (same scaling, same minimum size).

The defaults (bandwidth 0.05, radius 0.10, minimum size 5) were chosen on the planted family of issue 18 (seeds
0-49; `benchmarks/forecast_cod_planted.py --family`): questions that are all near zero on the small models
but emerge at different sizes sit close together in pass rate, and a cluster that mixes them follows no single
law. Smaller, purer clusters lost less (mean error 1.5 points against 1.8-2.0 with 0.08/0.15/10 under the
same rule); log-odds or log(-log) features did not separate them better in our trials (2.1-2.3 points).
What the pass-rate distance cannot see (3 % against 0 % on the small models: a hard question already rising
against one not yet emerged) the forecaster settles afterwards on the binomial counts (`cod.refine`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from probecast.errors import ProbecastError

METHODS = ("meanshift", "kmeans", "dbscan")


@dataclass
class ClusterConfig:
    method: str = "meanshift"
    bandwidth: float = 0.05       # MeanShift kernel width (RMS pass-rate units)
    max_radius: float = 0.10      # cap on a cluster's radius (RMS pass-rate units)
    min_size: int = 5             # smaller clusters become outliers
    max_depth: int = 4            # how many times a too-wide cluster may be split with half the bandwidth
    n_clusters: int = 8           # K-Means
    eps: float = 0.05             # DBSCAN neighbourhood radius
    seed: int = 0


def difficulty_features(pass_rate: np.ndarray) -> np.ndarray:
    """(Q, M) pass rates -> features whose Euclidean distance is the RMS pass-rate difference."""
    return np.asarray(pass_rate, float) / np.sqrt(pass_rate.shape[1])


def cluster_questions(pass_rate: np.ndarray, config: ClusterConfig | None = None) -> np.ndarray:
    """Cluster labels per question (0..K-1, ordered from easiest to hardest cluster; -1 = outlier)."""
    cfg = config or ClusterConfig()
    if cfg.method not in METHODS:
        raise ProbecastError(f"--cluster {cfg.method!r}: expected one of {', '.join(METHODS)}")
    X = difficulty_features(pass_rate)
    if len(X) < cfg.min_size:
        raise ProbecastError(f"{len(X)} questions is fewer than the minimum cluster size {cfg.min_size}; "
                             "lower --min-cluster-size or give more questions")
    if cfg.method == "meanshift":
        labels = _capped_meanshift(X, cfg.bandwidth, cfg)
    elif cfg.method == "kmeans":
        from sklearn.cluster import KMeans

        k = min(cfg.n_clusters, len(np.unique(X, axis=0)))
        labels = KMeans(n_clusters=k, n_init=10, random_state=cfg.seed).fit_predict(X)
    else:
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=cfg.eps, min_samples=min(cfg.min_size, 5)).fit_predict(X)
    return finalise_labels(pass_rate, labels, cfg.min_size)


def _capped_meanshift(X: np.ndarray, bandwidth: float, cfg: ClusterConfig, depth: int = 0) -> np.ndarray:
    """MeanShift whose clusters respect the radius cap (recursive halving of the bandwidth)."""
    from sklearn.cluster import MeanShift

    if len(np.unique(X, axis=0)) == 1:
        return np.zeros(len(X), int)
    raw = MeanShift(bandwidth=bandwidth, bin_seeding=True, min_bin_freq=1, cluster_all=True).fit_predict(X)
    out = np.full(len(X), -1)
    next_id = 0
    for k in np.unique(raw):
        idx = np.flatnonzero(raw == k)
        if len(idx) < cfg.min_size:
            continue
        radius = np.linalg.norm(X[idx] - X[idx].mean(axis=0), axis=1)
        if radius.max() > cfg.max_radius and depth < cfg.max_depth:
            sub = _capped_meanshift(X[idx], bandwidth / 2, cfg, depth + 1)
            for j in np.unique(sub[sub >= 0]):
                out[idx[sub == j]] = next_id
                next_id += 1
            continue
        keep = idx[radius <= cfg.max_radius]
        if len(keep) >= cfg.min_size:
            out[keep] = next_id
            next_id += 1
    return out


def finalise_labels(pass_rate: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Drop clusters below the minimum size and renumber from the easiest (highest mean pass rate) cluster."""
    X = difficulty_features(pass_rate)
    labels = np.asarray(labels).copy()
    ids = [k for k in np.unique(labels) if k >= 0 and (labels == k).sum() >= min_size]
    labels[~np.isin(labels, ids)] = -1
    order = sorted(ids, key=lambda k: -X[labels == k].mean())
    out = np.full(len(labels), -1)
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def nearest_cluster(pass_rate: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`labels` with every outlier (-1) given the cluster whose centre (mean feature) is nearest to it.

    Outliers stay out of the cluster fits (their curves are too far from every centre to shape a law) but they
    are still questions of the task: the forecaster counts each one with the cluster it is nearest to, so the
    subset the laws speak for covers them instead of leaving them to the mapping. No cluster: returned as is.
    """
    labels = np.asarray(labels)
    ids = np.unique(labels[labels >= 0])
    out = labels.copy()
    lost = labels < 0
    if not len(ids) or not lost.any():
        return out
    X = difficulty_features(pass_rate)
    centres = np.stack([X[labels == k].mean(axis=0) for k in ids])
    dist = ((X[lost, None, :] - centres[None]) ** 2).sum(axis=-1)
    out[lost] = ids[np.argmin(dist, axis=1)]
    return out


def cluster_summary(pass_rate: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Size, radius (RMS units) and mean curve of every cluster, for the cluster table."""
    X = difficulty_features(pass_rate)
    rows = []
    for k in sorted(set(labels[labels >= 0].tolist())):
        idx = labels == k
        radius = np.linalg.norm(X[idx] - X[idx].mean(axis=0), axis=1).max()
        rows.append({"cluster": int(k), "size": int(idx.sum()), "radius": float(radius),
                     "mean_curve": pass_rate[idx].mean(axis=0).round(4).tolist()})
    return rows
