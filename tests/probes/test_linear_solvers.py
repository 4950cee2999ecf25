"""The linear probe's solvers: the fast paths for fewer rows than dimensions give the plain fits' answers."""

import numpy as np
import torch

from probecast.probes import linear as L


def _primal_ridge(X, y, l2):
    """Ridge by the d×d Gram matrix (the textbook form)."""
    n, _, d = X.shape
    Xc, yc = (X - X.mean(0)).double(), (y - y.mean()).double()
    W = torch.stack([torch.stack([torch.linalg.solve(Xc[:, l].T @ Xc[:, l] / n + g * torch.eye(d, dtype=torch.float64),
                                                     Xc[:, l].T @ yc / n) for l in range(X.shape[1])]) for g in l2.tolist()])
    return W.float(), y.mean() - torch.einsum("ld,gld->gl", X.mean(0), W.float())


def test_ridge_dual_and_primal_paths_equal_the_textbook_solution():
    rng = np.random.default_rng(0)
    l2 = torch.tensor([1e-2, 1.0, 10.0])
    for n, d in ((40, 90), (120, 16)):  # dual (n < d) and primal
        X = torch.from_numpy(rng.normal(size=(n, 3, d)).astype(np.float32))
        y = torch.from_numpy(rng.random(n).astype(np.float32))
        W, b = L._ridge(X, y, l2)
        W0, b0 = _primal_ridge(X, y, l2)
        np.testing.assert_allclose(W.numpy(), W0.numpy(), atol=1e-5)
        np.testing.assert_allclose(b.numpy(), b0.numpy(), atol=1e-5)


def test_logistic_in_row_space_is_the_same_fit():
    """n < d: the fit on the rows' coordinates (Z, V) predicts what the fit on the raw columns predicts, and its
    weights lie in the rows' span."""
    rng = np.random.default_rng(1)
    n, d = 60, 200
    X = rng.normal(size=(n, 2, d)).astype(np.float32)
    y = (X[:, 0, :5].sum(1) + rng.normal(size=n) > 0).astype(np.float32)
    Z, V = L._row_space(torch.from_numpy(X))
    np.testing.assert_allclose(torch.einsum("nlk,ldk->nld", Z, V).numpy(), X, atol=1e-4)  # X = Z Vᵀ
    W, b = L.fit_linear_grid("logistic", X, y, [1.0, 10.0], 300)
    W0, b0 = L._logistic(torch.from_numpy(X), torch.from_numpy(y), torch.tensor([1.0, 10.0]), 300)
    z = torch.einsum("nld,gld->ngl", torch.from_numpy(X), W) + b
    z0 = torch.einsum("nld,gld->ngl", torch.from_numpy(X), W0) + b0
    np.testing.assert_allclose(z.numpy(), z0.numpy(), atol=2e-3)
    residual = W - torch.einsum("ldk,lek,gle->gld", V, V, W)  # the part of W outside the rows' span
    assert residual.abs().max() < 1e-4


def test_grouped_ridge_is_ridge_with_unpenalised_group_intercepts():
    """The within estimator equals the textbook fit of [X, one-hot(group)] with the penalty on W only."""
    rng = np.random.default_rng(2)
    n, d, T = 50, 6, 3
    X = torch.from_numpy(rng.normal(size=(n, 1, d)).astype(np.float32))
    groups = torch.from_numpy(rng.integers(0, T, n))
    y = torch.from_numpy(rng.random(n).astype(np.float32))
    W, b = L._grouped_ridge(X, y, torch.tensor([0.5]), groups)
    D = torch.cat([X[:, 0].double(), torch.nn.functional.one_hot(groups, T).double()], 1)
    P = torch.diag(torch.cat([torch.full((d,), 0.5 * n, dtype=torch.float64), torch.zeros(T, dtype=torch.float64)]))
    beta = torch.linalg.solve(D.T @ D + P, D.T @ y.double())
    np.testing.assert_allclose(W[0, 0].numpy(), beta[:d].numpy(), atol=1e-5)
    np.testing.assert_allclose(b[0, 0].numpy(), beta[d:].numpy(), atol=1e-5)


def test_grouped_logistic_intercepts_absorb_group_base_rates():
    """Groups that differ only in base rate: the per-group intercepts take the difference, the weights stay
    on the within-group direction (without intercepts they also pick the group-mean direction)."""
    rng = np.random.default_rng(3)
    n, d = 600, 4
    groups = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 1, d)).astype(np.float32)
    X[:, 0, 1] += 3.0 * groups  # feature 1 only tells the groups apart
    z = 1.5 * X[:, 0, 0] + np.where(groups == 1, -3.0, 1.0)  # group 1 mostly fails, whatever feature 1 says
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float32)
    W, b = L.fit_linear_grid("logistic", X, y, [1e-3], 300, groups)
    assert b.shape == (1, 1, 2) and float(b[0, 0, 0] - b[0, 0, 1]) > 2.5
    assert abs(float(W[0, 0, 1])) < 0.3 < float(W[0, 0, 0])
    W0, _ = L.fit_linear_grid("logistic", X, y, [1e-3], 300)
    assert float(W0[0, 0, 1]) < -0.5  # the plain fit spends its weight on the group direction
