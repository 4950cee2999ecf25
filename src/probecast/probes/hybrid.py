"""Hybrid probe: hidden states + the teacher-forced answer log-likelihood, combined by stacking.

Why stacking: for a short unique answer sampled at temperature 1, exp(log-likelihood) of the reference
answer *is* pass@1, so the combination must never lose that signal to regularisation of a wide model. The
stacker is a logistic on the logit of the calibrated log-likelihood (`LoglikCalibrator`, which extrapolates to
later checkpoints; its weight is shrunk towards 1) and the linear hidden-state probe's *out-of-fold* logit
(+ progress if asked). (Wolpert 1992, stacked generalisation.)

Out-of-fold means other questions *and* (with `oof="checkpoint"`, the default, when there are >= 2 training
checkpoints) another checkpoint: the logit a row gets comes from a probe that saw neither its question nor
its checkpoint, so the stacker learns how far the hidden-state logit survives weight drift.

Per task, the likelihood is trusted only where it explains the task's success rate on the training rows:
exp(loglik) of a short unique answer sampled at temperature 1 averages to pass@1, so a task whose mean
exp(loglik) is below `loglik_min_ratio` × its mean pass@1 (with at least `loglik_min_rate` successes) is one
where the reference answer's likelihood does not measure success, typically a multi-step task where the
model writes a scratchpad before the answer. Those tasks are predicted by the hidden-state probe alone
(`hidden_only_tasks_`), and the calibrator and stacker are fitted on the other tasks' rows.

Whether the hidden logit enters the stacker is decided like the evaluation itself (`select="forward"`): both
stackers ("loglik", "loglik+hidden") are fitted on the earlier training checkpoints and judged on the last
one by mean per-task AUROC; "loglik+hidden" is kept only if it ranks better there. On a model whose hidden
states carry little beyond the likelihood, the hybrid thus falls back to the calibrated likelihood instead
of adding noise to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.calibration import LoglikCalibrator, stack_logistic
from probecast.probes.inputs import Standardizer, group_folds, loglik_features, progress_column, question_groups
from probecast.probes.linear import LinearConfig, LinearProbe
from probecast.evaluation.metrics import auroc, nanmean


@dataclass
class HybridConfig(ProbeConfig):
    pooling: str = "last"
    layer: int | None = None
    l2_grid: list[float] = field(default_factory=lambda: [1e-3, 1e-2, 1e-1, 1.0, 10.0])
    n_folds: int = 3
    include_progress: bool = False  # extrapolates badly past the training checkpoints (README)
    stack_l2: float = 1e-3
    oof: str = "checkpoint"  # "checkpoint": out of question fold and checkpoint; "question": question fold only
    select: str = "forward"  # "forward": keep the hidden logit only if it helps on the last training checkpoint;
    #                          "always": always stack it
    loglik_min_ratio: float = 0.0  # > 0: tasks with mean exp(loglik) < ratio × mean pass@1 use the hidden probe
    #                                alone. Off by default: the calibrator's per-task path count already absorbs a
    #                                constant ratio, and early checkpoints (where a long scratchpad's likelihood is
    #                                tiny) flagged tasks whose likelihood later tracked pass@1 well (README).
    loglik_min_rate: float = 0.01  # ... when their mean pass@1 on the training rows is at least this
    threads: int = 1  # the CPU is shared: more threads oversubscribe and slow down
    paths: bool = False  # calibrate P(some listed answer path) instead of the reference's (`answer_loglik_paths`):
    #                      ranks multi-step questions better, but every new checkpoint must score every path


def within_task_auroc(X: FeatureSet, y: np.ndarray, p: np.ndarray) -> float:
    """Mean over tasks of the AUROC against pass@1 >= 0.5 (NaN where a task has one class)."""
    tasks = X.task.astype(str)
    return nanmean(auroc(y[tasks == t] >= 0.5, p[tasks == t]) for t in np.unique(tasks))


@register("hybrid")
class HybridProbe(Probe):
    input_kinds = ("hidden", "answer_loglik")
    Config = HybridConfig

    def _hidden_cfg(self, layer: int | None) -> LinearConfig:
        c = self.config
        return LinearConfig(pooling=c.pooling, layer=layer, l2_grid=list(c.l2_grid), n_folds=c.n_folds,
                            include_progress=c.include_progress, seed=c.seed, threads=c.threads)

    def _columns(self, X: FeatureSet, hidden_logit: np.ndarray, use_hidden: bool) -> np.ndarray:
        """The stacker's columns besides the calibrated log-likelihood logit, which enters as an offset."""
        cols = [np.zeros((len(X), 0))]
        if use_hidden:
            cols.append(hidden_logit[:, None])
        if self.config.include_progress:
            cols.append(progress_column(X, self.step_scale_)[:, None])
        return np.concatenate(cols, axis=1)

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        cfg = self.config
        if cfg.select not in ("forward", "always"):
            raise ProbecastError(f"hybrid probe: select must be 'forward' or 'always', got {cfg.select!r}")
        self.hidden_only_tasks_ = self._loglik_blind_tasks(X, y)  # also fails early without log-likelihoods
        self.hidden_ = LinearProbe(self._hidden_cfg(cfg.layer)).fit(X, y)
        keep = ~np.isin(X.task.astype(str), self.hidden_only_tasks_)
        if not keep.any():  # no task where the likelihood measures success: the stacker is never used
            keep = np.ones(len(X), dtype=bool)
        X, y = X.subset(keep), y[keep]
        self.calib_ = LoglikCalibrator(use_paths=self.config.paths).fit(X, y)
        fixed = self._hidden_cfg(self.hidden_.layer_)
        fixed.l2_grid = [self.hidden_.l2_]
        hid = self._oof_logits(X, y, fixed)
        self.use_hidden_, self.selection_ = True, {}
        ckpts = X.checkpoint.astype(str)
        if cfg.select == "forward" and len(np.unique(ckpts)) >= 2:
            last = ckpts[np.argmax(X.step)]
            early, late = ckpts != last, ckpts == last
            offset = self.calib_.logit(X)
            for use in (False, True):
                A = self._columns(X, hid, use)
                sc = Standardizer().fit(A[early])
                w, b, c = stack_logistic(sc.transform(A[early]), offset[early], y[early], cfg.stack_l2)
                p = 1.0 / (1.0 + np.exp(-(c * offset[late] + sc.transform(A[late]).astype(np.float64) @ w + b)))
                self.selection_["loglik+hidden" if use else "loglik"] = within_task_auroc(X.subset(late), y[late], p)
            a_ll, a_hy = self.selection_["loglik"], self.selection_["loglik+hidden"]
            self.use_hidden_ = bool(np.isfinite(a_hy) and (not np.isfinite(a_ll) or a_hy > a_ll + 0.002))
        A = self._columns(X, hid, self.use_hidden_)
        self.scaler_ = Standardizer().fit(A)
        if A.shape[1]:
            self.coef_, self.intercept_, self.offset_weight_ = stack_logistic(
                self.scaler_.transform(A), self.calib_.logit(X), y, cfg.stack_l2)
        else:  # nothing to stack: the calibrated likelihood as it is (a refit would undo its extrapolation)
            self.coef_, self.intercept_, self.offset_weight_ = np.zeros(0), 0.0, 1.0

    def _loglik_blind_tasks(self, X: FeatureSet, y: np.ndarray) -> list[str]:
        e = np.exp(np.clip(loglik_features(X)[:, 0], -50, 0))
        tasks = X.task.astype(str)
        out = []
        for t in np.unique(tasks):
            m = tasks == t
            rate = float(y[m].mean())
            if rate >= self.config.loglik_min_rate and float(e[m].mean()) < self.config.loglik_min_ratio * rate:
                out.append(str(t))
        return out

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

    @property
    def needs_alternatives(self) -> bool:
        return bool(self.config.paths)

    def reads(self) -> FeatureReads:
        """The likelihood always; the hidden-state layer only when the stacker uses it or a task is predicted
        by the hidden-state probe alone."""
        hidden = self.use_hidden_ or bool(self.hidden_only_tasks_)
        return FeatureReads(layers=(self.hidden_.layer_,) if hidden else (), pooling=self.config.pooling,
                            answer_loglik=True, alternatives=self.needs_alternatives)

    def _predict(self, X: FeatureSet) -> np.ndarray:
        blind = np.isin(X.task.astype(str), self.hidden_only_tasks_)
        hid = self.hidden_.decision_function(X) if (self.use_hidden_ or blind.any()) else np.zeros(len(X))
        A = self.scaler_.transform(self._columns(X, hid, self.use_hidden_))
        z = self.offset_weight_ * self.calib_.logit(X) + A.astype(np.float64) @ self.coef_ + self.intercept_
        z[blind] = hid[blind]
        return 1.0 / (1.0 + np.exp(-z))

    def _get_state(self):
        h_arrays, h_extra = self.hidden_._get_state()
        arrays = {**{f"hidden.{k}": v for k, v in h_arrays.items()}, **self.scaler_.state("scaler_"),
                  **self.calib_.state("calib_"), "coef": self.coef_, "intercept": np.array([self.intercept_, self.offset_weight_])}
        return arrays, {"hidden": h_extra, "hidden_config": self.hidden_.get_params(),
                        "step_scale": self.hidden_.step_scale_, "use_hidden": self.use_hidden_,
                        "hidden_only_tasks": self.hidden_only_tasks_,
                        "selection": {k: (float(v) if np.isfinite(v) else None) for k, v in self.selection_.items()}}

    def _set_state(self, arrays, extra) -> None:
        self.hidden_ = LinearProbe(LinearConfig(**extra["hidden_config"]))
        self.hidden_._set_state({k[7:]: v for k, v in arrays.items() if k.startswith("hidden.")}, extra["hidden"])
        self.hidden_.fitted_, self.hidden_.hidden_shape_ = True, None
        self.hidden_.step_scale_ = float(extra["step_scale"])
        self.scaler_ = Standardizer.from_state(arrays, "scaler_")
        self.calib_ = LoglikCalibrator.from_state(arrays, "calib_")
        self.coef_, self.intercept_ = arrays["coef"], float(arrays["intercept"][0])
        self.offset_weight_ = float(arrays["intercept"][1])
        self.use_hidden_, self.selection_ = bool(extra["use_hidden"]), extra.get("selection", {})
        self.hidden_only_tasks_ = list(extra.get("hidden_only_tasks", []))

    @property
    def layer_(self) -> int:
        return self.hidden_.layer_
