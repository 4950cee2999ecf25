"""Linear probe (logistic or ridge) on one layer, with the layer and the L2 strength chosen by grouped CV.

Why batched: every (layer, l2) candidate is an independent linear model on the same rows, so we fit all of
them at once as one [G, L, D] weight tensor (full-batch L-BFGS for the soft-target logistic, an eigen-solve
for ridge). Cross-validation folds group each question's rows across checkpoints, so a question never sits
on both sides of a fold (`cv="question"` folds are also stratified by task × label). The layer is the one
whose held-out predictions rank best within each (task, checkpoint), as the evaluation scores them; the L2
strength at that layer the one with the best held-out likelihood (soft BCE / squared error).
Refs: Alain & Bengio 2016 (linear probes); arXiv 2604.01025 (probing in-training LLMs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from probecast.errors import ProbecastError
from probecast.evaluation.metrics import strata_auroc
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.inputs import (Standardizer, checkpoint_folds, expect_shape, hidden_block, progress_column,
                                     question_groups, stratified_question_folds)
from probecast.probes.torch_train import torch_threads

EPS = 1e-4


@dataclass
class LinearConfig(ProbeConfig):
    kind: str = "logistic"  # "logistic" (soft BCE) or "ridge" (least squares on pass@1, then Platt-scaled)
    pooling: str = "last"  # "last" | "mean" | "both"
    layer: int | None = None  # None: choose by grouped CV
    l2_grid: list[float] = field(default_factory=lambda: [1e-3, 1e-2, 1e-1, 1.0, 10.0])
    n_folds: int = 3
    cv: str = "checkpoint"  # "checkpoint": folds out of question and checkpoint; "question": question folds
    # stratified by task × label (for one checkpoint: the in-checkpoint protocol)
    include_progress: bool = False
    task_intercepts: bool | str = False  # one free (unpenalised) intercept per task: the weights then learn only
    # what ranks questions inside a task, not what tells one task's base rate from another's; "auto": the CV chooses
    max_iter: int = 100
    threads: int = 1  # the CPU is shared: more threads oversubscribe and slow down


def _offsets(b: torch.Tensor, groups: torch.Tensor | None) -> torch.Tensor:
    """The intercept of every row, broadcastable to [n, G, L]: b [G, L] (one intercept) or [G, L, T] (one per
    group, `groups` [n] in 0..T-1)."""
    return b if groups is None else b[:, :, groups].permute(2, 0, 1)


def _group_means(A: torch.Tensor, groups: torch.Tensor, T: int) -> torch.Tensor:
    """[T, *A.shape[1:]]: the mean of A's rows in each group."""
    flat = A.reshape(len(A), -1).double()
    sums = torch.zeros(T, flat.shape[1], dtype=torch.float64).index_add_(0, groups, flat)
    counts = torch.bincount(groups, minlength=T).clamp(min=1).double()
    return (sums / counts[:, None]).reshape(T, *A.shape[1:]).to(A.dtype)


def _logistic(X: torch.Tensor, y: torch.Tensor, l2: torch.Tensor, max_iter: int,
              groups: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-target logistic for G×L models at once. X [n, L, d], y [n], l2 [G] -> W [G, L, d], b [G, L]
    (with `groups` [n] in 0..T-1: b [G, L, T], one unpenalised intercept per group)."""
    n, L, d = X.shape
    G = len(l2)
    W = torch.zeros(G, L, d, requires_grad=True)
    if groups is None:
        b = torch.zeros(G, L, requires_grad=True)
        with torch.no_grad():
            b += torch.logit(y.mean().clamp(EPS, 1 - EPS))
    else:
        start = torch.logit(_group_means(y, groups, int(groups.max()) + 1).clamp(EPS, 1 - EPS))
        b = start.expand(G, L, len(start)).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-7, tolerance_change=1e-10)
    target = y[:, None, None].expand(n, G, L)

    def closure():
        opt.zero_grad()
        logits = torch.einsum("nld,gld->ngl", X, W) + _offsets(b, groups)
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(0)  # [G, L]
        total = (loss + 0.5 * l2[:, None] * (W ** 2).sum(-1)).sum()
        total.backward()
        return total

    opt.step(closure)
    return W.detach(), b.detach()


def _ridge(X: torch.Tensor, y: torch.Tensor, l2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge on pass@1 for G×L models: one eigendecomposition per layer serves every l2 (X is centred).

    Primal when there are more rows than dimensions (the d×d Gram matrix), dual otherwise (the n×n kernel:
    w = Xcᵀ (XcXcᵀ + n·l2·I)⁻¹ y, the same solution at n²·d instead of d³ per layer; a probe usually has a few
    hundred rows and 576+ dimensions)."""
    n, L, d = X.shape
    Xc = (X - X.mean(0)).double().transpose(0, 1)  # [L, n, d]
    yc = (y - y.mean()).double()
    l2 = l2.double()[:, None, None]
    if n < d:
        evals, U = torch.linalg.eigh(Xc @ Xc.transpose(1, 2))  # [L, n], [L, n, n]
        uty = torch.einsum("lnk,n->lk", U, yc)  # [L, n]
        alpha = torch.einsum("lnk,glk->gln", U, uty[None] / (evals[None] + n * l2))  # [G, L, n]
        W = torch.einsum("gln,lnd->gld", alpha, Xc).float()
    else:
        evals, V = torch.linalg.eigh(Xc.transpose(1, 2) @ Xc / n)  # [L, d], [L, d, d]
        proj = torch.einsum("ldk,ld->lk", V, torch.einsum("lnd,n->ld", Xc, yc) / n)  # [L, d] in the eigenbasis
        W = torch.einsum("ldk,glk->gld", V, proj[None] / (evals[None] + l2)).float()
    b = (y.mean() - torch.einsum("ld,gld->gl", X.mean(0), W))
    return W, b


def _grouped_ridge(X: torch.Tensor, y: torch.Tensor, l2: torch.Tensor,
                   groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge with one unpenalised intercept per group (the fixed-effects "within" estimator): rows and targets
    centred on their group's means, W fitted on what varies inside groups, b [G, L, T] = ȳ_t − μ_t·W."""
    T = int(groups.max()) + 1
    mu, ybar = _group_means(X, groups, T), _group_means(y, groups, T)  # [T, L, d], [T]
    W, _ = _ridge(X - mu[groups], y - ybar[groups], l2)
    b = ybar[None, None, :] - torch.einsum("tld,gld->glt", mu, W)
    return W, b


def _scores(kind: str, X: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
            groups: torch.Tensor | None = None) -> torch.Tensor:
    """P(success) [n, G, L]."""
    out = torch.einsum("nld,gld->ngl", X, W) + _offsets(b, groups)
    return torch.sigmoid(out) if kind == "logistic" else out.clamp(EPS, 1 - EPS)


def _row_space(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """X [n, L, d] with n < d → Z [n, L, n], V [L, d, n] with X = Z Vᵀ per layer and V's columns orthonormal
    (zero where X has no variance). An L2-penalised linear model's weights lie in the span of the rows, and
    w = V β gives X w = Z β and |w| = |β|, so fitting β on Z is the same fit (and L-BFGS from zero takes the
    same steps) at n instead of d columns."""
    Xl = X.float().transpose(0, 1)  # [L, n, d]
    evals, U = torch.linalg.eigh((Xl @ Xl.transpose(1, 2)).double())  # [L, n], [L, n, n]
    s = evals.clamp(min=0).sqrt()
    live = s > 1e-6 * s.amax(-1, keepdim=True).clamp(min=1e-30)
    Z = (U * s[:, None, :]).transpose(0, 1).float().contiguous()  # [n, L, n]
    V = Xl.transpose(1, 2) @ (U * torch.where(live, 1.0 / s.clamp(min=1e-30), 0.0)[:, None, :]).float()  # [L, d, n]
    return Z, V


def fit_linear_grid(kind: str, X: np.ndarray, y: np.ndarray, l2_grid: list[float], max_iter: int,
                    groups: np.ndarray | None = None):
    """W [G, L, d] and b [G, L] for every (l2, layer); with `groups` (int [n], 0..T-1) b is [G, L, T]: one
    unpenalised intercept per group."""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))
    l2 = torch.tensor(l2_grid, dtype=torch.float32)
    gt = None if groups is None else torch.from_numpy(np.asarray(groups, dtype=np.int64))
    if kind == "logistic":
        if Xt.shape[0] >= Xt.shape[2]:
            return _logistic(Xt, yt, l2, max_iter, gt)
        Z, V = _row_space(Xt)  # fewer rows than dimensions: the same fit in the rows' own coordinates
        Wz, b = _logistic(Z, yt, l2, max_iter, gt)
        return torch.einsum("ldk,glk->gld", V, Wz), b
    if kind == "ridge":
        return _ridge(Xt, yt, l2) if gt is None else _grouped_ridge(Xt, yt, l2, gt)
    raise ProbecastError(f"linear probe: kind must be 'logistic' or 'ridge', got {kind!r}")


def task_codes(known: np.ndarray, tasks: np.ndarray) -> np.ndarray:
    """int [n]: each row's position in `known` (sorted task names), len(known) for a task not in it."""
    pos = np.searchsorted(known, tasks)
    hit = (pos < len(known)) & (known[np.minimum(pos, len(known) - 1)] == tasks)
    return np.where(hit, pos, len(known))


def with_mean_intercept(b: torch.Tensor) -> torch.Tensor:
    """b [G, L, T] → [G, L, T + 1]: the last intercept (a task unseen at fit time) is the mean of the others."""
    return torch.cat([b, b.mean(-1, keepdim=True)], dim=-1)


def cv_layer_scores(kind: str, X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                    l2_grid: list[float], max_iter: int, strata: np.ndarray,
                    tasks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Held-out scores [G, L] of every (l2, layer) candidate, averaged over folds, lower is better:
    (minus the mean within-(task, checkpoint) AUROC, NaN when no validation stratum has both classes;
    the model's own objective: soft BCE for the logistic, squared error for ridge). With `tasks`, every
    candidate has one intercept per task (the training fold's tasks; an unseen one gets their mean)."""
    auc_sum, auc_n = np.zeros((len(l2_grid), X.shape[1])), np.zeros((len(l2_grid), X.shape[1]))
    own = np.zeros((len(l2_grid), X.shape[1]))
    n_val = sum(len(va) for _, va in folds)
    for tr, va in folds:
        g_tr = g_va = None
        if tasks is not None:
            known = np.unique(tasks[tr])
            g_tr, g_va = task_codes(known, tasks[tr]), torch.from_numpy(task_codes(known, tasks[va]))
        W, b = fit_linear_grid(kind, X[tr], y[tr], l2_grid, max_iter, g_tr)
        if tasks is not None:
            b = with_mean_intercept(b)
        with torch.no_grad():
            raw = torch.einsum("nld,gld->ngl", torch.from_numpy(X[va]), W) + _offsets(b, g_va)
            p = _scores(kind, torch.from_numpy(X[va]), W, b, g_va).clamp(EPS, 1 - EPS).double()
        yv = torch.from_numpy(y[va]).double()[:, None, None]
        if kind == "logistic":
            loss = -(yv * torch.log(p) + (1 - yv) * torch.log(1 - p)).mean(0)
        else:
            loss = ((p - yv) ** 2).mean(0)
        own += loss.numpy() * len(va) / n_val
        auc = strata_auroc(raw.numpy(), y[va], strata[va])
        if np.isfinite(auc).all():
            auc_sum += auc
            auc_n += 1
    if auc_n.max() == 0:
        return np.full_like(own, np.nan), own
    return -(auc_sum / np.maximum(auc_n, 1)), own


def layer_inputs(X: FeatureSet, pooling: str, step_scale: float | None, layers: list[int] | None = None) -> np.ndarray:
    """[n, L, d(+1)]: pooled hidden states, with the progress feature appended to every layer when
    `step_scale` is given (None: no progress feature)."""
    H = hidden_block(X, pooling, layers)
    if step_scale is not None:
        prog = np.broadcast_to(progress_column(X, step_scale)[:, None, None], (H.shape[0], H.shape[1], 1))
        H = np.concatenate([H, prog], axis=-1)
    return H


def cv_folds(X: FeatureSet, y: np.ndarray, cfg: LinearConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    if cfg.cv == "checkpoint":
        return checkpoint_folds(question_groups(X), X.checkpoint.astype(str), cfg.n_folds, cfg.seed)
    if cfg.cv == "question":
        return stratified_question_folds(question_groups(X), X.task.astype(str), y, cfg.n_folds, cfg.seed)
    raise ProbecastError(f"linear probe: cv must be 'checkpoint' or 'question', got {cfg.cv!r}")


def layer_cv(X: FeatureSet, y: np.ndarray, cfg: LinearConfig, step_scale: float | None = None,
             layers: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The grouped CV of every (l2, layer) candidate ([G, L], lower is better): the layer criterion (minus the
    within-(task, checkpoint) AUROC; the model's own loss where no validation stratum has both classes) and the
    model's own held-out loss."""
    raw = layer_inputs(X, cfg.pooling, step_scale if cfg.include_progress else None, layers)
    A = Standardizer().fit(raw).transform(raw)
    with torch_threads(cfg.threads):
        strata = np.char.add(X.task.astype(str), X.checkpoint.astype(str))
        tasks = X.task.astype(str) if getattr(cfg, "task_intercepts", False) is True else None
        auc, own = cv_layer_scores(cfg.kind, A, y, cv_folds(X, y, cfg), list(cfg.l2_grid), cfg.max_iter, strata, tasks)
    return (own if np.isnan(auc).all() else np.where(np.isnan(auc), np.inf, auc)), own


def select_layer(X: FeatureSet, y: np.ndarray, cfg: LinearConfig,
                 step_scale: float | None = None) -> tuple[int, float, np.ndarray]:
    """(best layer, best l2, the [G, L] CV table of the layer criterion; NaN where not evaluated).

    The layer is the one with the best within-(task, checkpoint) AUROC, i.e. what the evaluation reports (a
    pooled likelihood would reward layers that only tell tasks apart: the embedding layer at the last token
    is one constant per task and wins a pooled BCE); the L2 strength at that layer is the one with the best
    held-out likelihood (AUROC ignores the weights' scale, calibration does not). Without any stratum with
    both classes, the likelihood decides both. Shared by the MLP and hybrid probes. With a fixed layer only that layer is cross-validated, and with a
    fixed layer and a single l2 there is nothing to choose, so no CV runs at all."""
    grid = list(cfg.l2_grid)
    table = np.full((len(grid), X.n_layers), np.nan)
    layers = None if cfg.layer is None else [int(cfg.layer)]
    if layers is not None and len(grid) == 1:
        return int(cfg.layer), float(grid[0]), table
    crit, own = layer_cv(X, y, cfg, step_scale, layers)
    if layers is None:
        table[:] = crit
    else:
        table[:, layers[0]] = crit[:, 0]
    _, layer = np.unravel_index(int(np.argmin(np.where(np.isnan(table), np.inf, table))), table.shape)
    col = layer if layers is None else 0
    g = int(np.argmin(own[:, col]))
    return int(layer), float(grid[g]), table


def platt_fit(z: np.ndarray, y: np.ndarray, max_iter: int) -> np.ndarray:
    """[a, b] of the 1-D logistic P = sigmoid(a·z + b) fitted to soft targets y (Platt scaling; z standardised
    for the fit, so the tiny L2 does not depend on z's scale)."""
    sd = z.std() + 1e-12
    zs = ((z - z.mean()) / sd).astype(np.float32)[:, None, None]
    Wp, bp = fit_linear_grid("logistic", zs, y, [1e-4], max_iter)
    a = float(Wp[0, 0, 0]) / sd
    return np.array([a, float(bp[0, 0]) - a * z.mean()])


def _best_score(table: np.ndarray) -> float:
    """The best (lowest) CV criterion in a select_layer table; +inf when nothing was cross-validated."""
    finite = table[np.isfinite(table)]
    return float(finite.min()) if finite.size else float("inf")


@register("linear")
class LinearProbe(Probe):
    """Logistic (default) or ridge probe on the CV-selected layer; `kind="ridge"` is also registered as 'ridge'."""

    Config = LinearConfig

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        cfg = self.config
        if cfg.layer is not None and not 0 <= cfg.layer < X.n_layers:
            raise ProbecastError(f"linear probe: layer {cfg.layer} out of range for {X.n_layers} layers")
        if cfg.task_intercepts not in (False, True, "auto"):
            raise ProbecastError(f"linear probe: task_intercepts must be true, false or 'auto', got {cfg.task_intercepts!r}")
        choices = (False, True) if cfg.task_intercepts == "auto" else (cfg.task_intercepts,)
        fits = [(ti, *select_layer(X, y, replace(cfg, task_intercepts=ti), self._scale())) for ti in choices]
        # "auto": the variant whose best (layer, l2) candidate scores best in the same CV (the first on a tie)
        self.task_intercepts_, self.layer_, self.l2_, table = min(fits, key=lambda f: _best_score(f[3]))
        self.cv_table_ = table
        A = layer_inputs(X, cfg.pooling, self._scale(), [self.layer_])
        self.scaler_ = Standardizer().fit(A)
        self.tasks_ = np.unique(X.task.astype(str)) if self.task_intercepts_ else np.zeros(0, dtype=str)
        groups = task_codes(self.tasks_, X.task.astype(str)) if self.task_intercepts_ else None
        with torch_threads(cfg.threads):
            W, b = fit_linear_grid(cfg.kind, self.scaler_.transform(A), y, [self.l2_], cfg.max_iter, groups)
            # one intercept, or one per task + their mean last (for a task unseen at fit time)
            self.coef_ = W[0, 0].numpy()
            self.intercept_ = (b[0, 0:1] if groups is None else with_mean_intercept(b)[0, 0]).numpy().astype(np.float64)
            self.platt_ = np.array([1.0, 0.0])  # identity until the ridge calibration below
            if cfg.kind == "ridge":  # order-preserving map of the regression output to a probability
                self.platt_ = platt_fit(self.raw_output(X), y, cfg.max_iter)

    def _scale(self) -> float | None:
        return self.step_scale_ if self.config.include_progress else None

    def raw_output(self, X: FeatureSet) -> np.ndarray:
        """The linear model's output before calibration (ridge: the regression's predicted pass@1)."""
        A = layer_inputs(X, self.config.pooling, self._scale(), [self.layer_])
        A = self.scaler_.transform(A)[:, 0]
        return A.astype(np.float64) @ self.coef_.astype(np.float64) + self._intercepts(X)

    def decision_function(self, X: FeatureSet) -> np.ndarray:
        """The logit of P(success) (for ridge: the Platt-scaled regression output)."""
        return self.platt_[0] * self.raw_output(X) + self.platt_[1]

    def _intercepts(self, X: FeatureSet) -> np.ndarray | float:
        if len(self.intercept_) == 1:
            return float(self.intercept_[0])
        return self.intercept_[task_codes(self.tasks_, X.task.astype(str))]

    def _predict(self, X: FeatureSet) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def reads(self) -> FeatureReads:
        return FeatureReads(layers=(self.layer_,), pooling=self.config.pooling)

    def _get_state(self):
        arrays = {"coef": self.coef_, "intercept": np.asarray(self.intercept_, dtype=np.float64),
                  "cv_table": self.cv_table_, "platt": self.platt_, **self.scaler_.state("scaler_")}
        return arrays, {"layer": self.layer_, "l2": self.l2_, "tasks": [str(t) for t in self.tasks_]}

    def _set_state(self, arrays, extra) -> None:
        self.coef_, self.intercept_ = arrays["coef"], np.asarray(arrays["intercept"], dtype=np.float64)
        self.tasks_ = np.array(extra.get("tasks", []), dtype=str)
        self.cv_table_, self.platt_ = arrays["cv_table"], arrays["platt"]
        self.scaler_ = Standardizer.from_state(arrays, "scaler_")
        self.layer_, self.l2_ = int(extra["layer"]), float(extra["l2"])
        expect_shape(self.coef_.shape, self.scaler_.mean.shape[1:], "coef")


@register("ridge")
class RidgeProbe(LinearProbe):
    """The linear probe with least squares on pass@1, its output mapped to a probability by a 1-D logistic
    (Platt scaling) on the training rows, so ranking is kept where a clip to [0, 1] would tie."""

    Config = LinearConfig

    def __init__(self, config=None, **params) -> None:
        params.setdefault("kind", "ridge")
        super().__init__(config, **params)
