"""Refining COD's clusters by the questions' binomial counts (a hard-EM pass after the clustering).

MeanShift groups questions by their pass-rate curves in plain pass-rate units, where 3 % and 0 % are 0.03
apart: well inside the bandwidth. But a question that is 3/100 correct on the small models and one that is 0/100
on every model but the last are different questions: the first is hard but already rising, the second has not
emerged yet. A cluster that holds both follows no single law (the early risers set its mean curve's start, so
its fitted rise is too flat for the rest).

The counts tell them apart. Each cluster's centre is its pooled pass rate per model (correct over samples of all
its members, with half a count added so a centre at zero is not exact), and each question goes to the cluster
under which its counts are most likely (binomial log-likelihood summed over the models); then the centres are
recomputed, and so on until no question moves. This is k-means with the binomial deviance in place of the
squared distance (a Bregman divergence: Banerjee et al., "Clustering with Bregman Divergences", JMLR 2005):
every step lowers the total deviance, so it converges; started from MeanShift's clusters it only moves questions
between them. Near zero the deviance is sharp (3 correct samples where the centre says 0.01 % cost far more
than the 0.03 squared distance says), in the middle it is the squared distance scaled by the binomial variance.

Outliers (label -1) stay outliers. A cluster that falls below the minimum size is dissolved and its members go to
the remaining clusters.
"""

from __future__ import annotations

import numpy as np


def centres(c: np.ndarray, n: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(K, M) pooled pass rate per cluster and model, with half a count added (never exactly 0 or 1)."""
    return np.stack([(c[labels == k].sum(axis=0) + 0.5) / (n[labels == k].sum(axis=0) + 1.0) for k in ids])


def nll(c: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(Q, K) binomial negative log-likelihood of every question's counts under every centre (constants dropped)."""
    logp, log1p = np.log(p), np.log1p(-p)
    return -(c @ logp.T + (n - c) @ log1p.T)


def refine_labels(c: np.ndarray, n: np.ndarray, labels: np.ndarray, min_size: int, max_iter: int = 50) -> np.ndarray:
    """`labels` after a hard-EM pass on the binomial counts `c`, `n` (Q, M); outliers (-1) are left as they are."""
    c, n = np.asarray(c, float), np.asarray(n, float)
    out = np.asarray(labels).copy()
    inside = out >= 0
    ids = np.unique(out[inside])
    if len(ids) < 2:
        return out
    for _ in range(max_iter):
        cost = nll(c[inside], n[inside], centres(c, n, out, ids))
        new = ids[np.argmin(cost, axis=1)]
        sizes = np.array([(new == k).sum() for k in ids])
        while sizes.min() < min_size and len(ids) > 1:  # dissolve the smallest cluster, reassign its members
            keep = np.arange(len(ids)) != np.argmin(sizes)
            ids, cost = ids[keep], cost[:, keep]
            new = ids[np.argmin(cost, axis=1)]
            sizes = np.array([(new == k).sum() for k in ids])
        if np.array_equal(new, out[inside]):
            break
        out[inside] = new
    return out
