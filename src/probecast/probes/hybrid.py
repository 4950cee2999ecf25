"""Hybrid probe: hidden states + the teacher-forced answer log-likelihood, combined by stacking.

Why stacking: for a short unique answer sampled at temperature 1, exp(log-likelihood) of the reference
answer *is* pass@1, so the combination must never lose that signal to regularisation of a wide linear model.
We therefore fit the linear hidden-state probe, take its *out-of-fold* logit, and fit a small logistic on
[hidden logit, loglik, loglik per token, exp(loglik), (progress)]. The stacker has five inputs; the hidden
probe has the wide ones. (Wolpert 1992, stacked generalisation.)

Out-of-fold means other questions *and* (with `oof="checkpoint"`, the default, when there are >= 2 training
checkpoints) another checkpoint: the logit a row gets comes from a probe that saw neither its question nor
its checkpoint. So the stacker learns how far the hidden-state logit can be trusted across weight drift,
which is the situation at a later checkpoint, instead of trusting an in-checkpoint logit too much.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.inputs import Standardizer, group_folds, loglik_features, progress_column, question_groups
from probecast.probes.linear import LinearConfig, LinearProbe, fit_linear_grid
from probecast.probes.torch_train import torch_threads


@dataclass
class HybridConfig(ProbeConfig):
    pooling: str = "last"
    layer: int | None = None
    l2_grid: list[float] = field(default_factory=lambda: [1e-3, 1e-2, 1e-1])
    n_folds: int = 3
    include_progress: bool = False  # extrapolates badly past the training checkpoints (README)
    stack_l2: float = 1e-3
    oof: str = "checkpoint"  # "checkpoint": out of question fold and checkpoint; "question": question fold only
    threads: int = 1  # the CPU is shared: more threads oversubscribe and slow down


def stack_logistic(A: np.ndarray, y: np.ndarray, l2: float, threads: int) -> tuple[np.ndarray, float]:
    """Soft-target logistic on a few standardised columns -> (coef [k], intercept)."""
    with torch_threads(threads):
        W, b = fit_linear_grid("logistic", A[:, None, :].astype(np.float32), y, [l2], max_iter=200)
    return W[0, 0].double().numpy(), float(b[0, 0])


@register("hybrid")
class HybridProbe(Probe):
    Config = HybridConfig

    def _hidden_cfg(self, layer: int | None) -> LinearConfig:
        c = self.config
        return LinearConfig(pooling=c.pooling, layer=layer, l2_grid=list(c.l2_grid), n_folds=c.n_folds,
                            include_progress=c.include_progress, seed=c.seed, threads=c.threads)

    def _stack_inputs(self, X: FeatureSet, hidden_logit: np.ndarray) -> np.ndarray:
        cols = [hidden_logit[:, None], loglik_features(X)]
        if self.config.include_progress:
            cols.append(progress_column(X, self.step_scale_)[:, None])
        return np.concatenate(cols, axis=1)

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        cfg = self.config
        loglik_features(X)  # fail early with a clear message when the features lack log-likelihoods
        self.hidden_ = LinearProbe(self._hidden_cfg(cfg.layer)).fit(X, y)
        fixed = self._hidden_cfg(self.hidden_.layer_)
        fixed.l2_grid = [self.hidden_.l2_]
        A = self._stack_inputs(X, self._oof_logits(X, y, fixed))
        self.scaler_ = Standardizer().fit(A)
        self.coef_, self.intercept_ = stack_logistic(self.scaler_.transform(A), y, cfg.stack_l2, cfg.threads)

    def _oof_logits(self, X: FeatureSet, y: np.ndarray, fixed: LinearConfig) -> np.ndarray:
        if self.config.oof not in ("checkpoint", "question"):
            raise ProbecastError(f"hybrid probe: oof must be 'checkpoint' or 'question', got {self.config.oof!r}")
        ckpts = X.checkpoint.astype(str)
        by_ckpt = self.config.oof == "checkpoint" and len(np.unique(ckpts)) >= 2
        oof = np.zeros(len(X))
        for tr, va in group_folds(question_groups(X), self.config.n_folds, self.config.seed + 1):
            for c in (np.unique(ckpts[va]) if by_ckpt else [None]):
                fit_rows = tr if c is None else tr[ckpts[tr] != c]
                pred_rows = va if c is None else va[ckpts[va] == c]
                probe = LinearProbe(fixed).fit(X.subset(fit_rows), y[fit_rows])
                oof[pred_rows] = probe.decision_function(X.subset(pred_rows))
        return oof

    def _predict(self, X: FeatureSet) -> np.ndarray:
        A = self.scaler_.transform(self._stack_inputs(X, self.hidden_.decision_function(X)))
        z = A.astype(np.float64) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def _get_state(self):
        h_arrays, h_extra = self.hidden_._get_state()
        arrays = {**{f"hidden.{k}": v for k, v in h_arrays.items()}, **self.scaler_.state("scaler_"),
                  "coef": self.coef_, "intercept": np.array([self.intercept_])}
        return arrays, {"hidden": h_extra, "hidden_config": self.hidden_.get_params(),
                        "step_scale": self.hidden_.step_scale_}

    def _set_state(self, arrays, extra) -> None:
        self.hidden_ = LinearProbe(LinearConfig(**extra["hidden_config"]))
        self.hidden_._set_state({k[7:]: v for k, v in arrays.items() if k.startswith("hidden.")}, extra["hidden"])
        self.hidden_.fitted_, self.hidden_.hidden_shape_ = True, None
        self.hidden_.step_scale_ = float(extra["step_scale"])
        self.scaler_ = Standardizer.from_state(arrays, "scaler_")
        self.coef_, self.intercept_ = arrays["coef"], float(arrays["intercept"][0])

    @property
    def layer_(self) -> int:
        return self.hidden_.layer_
