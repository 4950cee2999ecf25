"""`logit_lens`: how sure the checkpoint is of how to start its answer, read through its own LM head.

The final (normed) hidden state at the last prompt token, multiplied by the checkpoint's LM head, is the
next-token distribution the model samples its answer from (nostalgebraist's "logit lens", here at the last
layer). Its confidence — the top log-probability, minus the entropy, the top-1 − top-2 margin
(`FeatureSet.next_token`, computed at extraction where the checkpoint's head is at hand) — is a classic
correctness signal (Kadavath et al., arXiv 2207.05221; Kuhn et al., arXiv 2302.09664) that needs no answer,
no label and no text: a function of the hidden state alone, so `inputs` = `hidden`. The probe takes one of the three (`statistic`,
default minus the entropy: the whole distribution's confidence), standardised, plus one intercept per task, and
fits an L2 logistic regression on soft pass@1 targets (weighted duplicates, as `text_difficulty`).

Why one statistic and per-task intercepts (measured on the real demo's *training* checkpoints: fitted on steps
0–12, scored on the training questions at step 28): across tasks confidence and success run the wrong way
(the confident tasks are the ones the model fails), so a slope fitted without task intercepts comes out negative
and ranks each task's questions backwards (AUROC 0.41 there); with them the slope is fitted on the variation
inside each task and is positive (0.595 for minus the entropy, 0.584 for the top log-probability, 0.517 for
the margin). All three together with intercepts reached 0.517: the first two are nearly collinear and their
fitted weights take opposite signs. A task unseen at fit time gets the mean intercept. Extraction for
prediction needs the full depth over the prompt (`FeatureReads.next_token`), no answer tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.extract import NEXT_TOKEN
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.baselines import soft_logistic


@dataclass
class LensConfig(ProbeConfig):
    statistic: str = "neg_entropy"  # one of extract.NEXT_TOKEN: max_logprob, neg_entropy, margin
    C: float = 1.0  # inverse L2 strength of the logistic regression


@register("logit_lens")
class LogitLens(Probe):
    Config = LensConfig
    uses_hidden = False  # reads FeatureSet.next_token, not the pooled hidden arrays
    input_kinds = ("hidden",)

    def _column(self, X: FeatureSet) -> np.ndarray:
        if X.next_token is None:
            raise ProbecastError("features: logit_lens needs the next-token statistics (FeatureSet.next_token), "
                                 "which features extracted before they existed lack; delete W/features/ and run "
                                 "`probecast extract` again")
        return np.asarray(X.next_token, dtype=np.float64)[:, NEXT_TOKEN.index(self.config.statistic)]

    def _design(self, X: FeatureSet) -> np.ndarray:
        tasks = X.task.astype(str)
        onehot = np.stack([tasks == t for t in self.tasks_], axis=1).astype(np.float64)
        onehot[~onehot.any(axis=1)] = 1.0 / len(self.tasks_)  # an unseen task: the mean intercept
        return np.concatenate([((self._column(X) - self.mean_) / self.scale_)[:, None], onehot], axis=1)

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        if self.config.statistic not in NEXT_TOKEN:
            raise ProbecastError(f"logit_lens: statistic {self.config.statistic!r}; choose one of "
                                 f"{', '.join(NEXT_TOKEN)}")
        z = self._column(X)
        self.mean_, self.scale_ = float(z.mean()), float(z.std() or 1.0)
        self.tasks_ = sorted(set(X.task.astype(str)))
        self.coef_, self.intercept_ = soft_logistic(self._design(X), y, np.ones(len(y)), self.config.C)

    def decision_function(self, X: FeatureSet) -> np.ndarray:
        return self._design(X) @ self.coef_ + self.intercept_

    def _predict(self, X: FeatureSet) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def reads(self) -> FeatureReads:
        return FeatureReads(layers=(), next_token=True)

    def _get_state(self):
        return {"coef": self.coef_, "intercept": np.array([self.intercept_])}, \
            {"mean": self.mean_, "scale": self.scale_, "tasks": self.tasks_}

    def _set_state(self, arrays, extra) -> None:
        self.coef_, self.intercept_ = arrays["coef"], float(arrays["intercept"][0])
        self.mean_, self.scale_, self.tasks_ = float(extra["mean"]), float(extra["scale"]), list(extra["tasks"])


@dataclass
class LensRidgeConfig(LensConfig):
    pooling: str = "last"  # the ridge member's (see LinearConfig)
    layer: int | None = None  # the ridge member's layer; None = chosen by its grouped CV
    l2_grid: list[float] | None = None  # the ridge member's L2 grid (None: LinearConfig's default)
    cv: str = "checkpoint"  # the ridge member's CV folds ("question" inside one checkpoint, as linear/ridge)


@register("lens_ridge")
class LensRidge(Probe):
    """Two pure hidden-state readings averaged: `logit_lens` (the model's own confidence, read through its LM head)
    and `ridge` (a learnt linear reading of one layer's pooled state). P = sigmoid of the mean of the two logits, an
    equal-weight soft vote (nothing fitted beyond the members: with ~230 training questions a stacker's weights
    would be noise). Chosen on the real demo's *training* checkpoints only (fitted on steps 0-12, scored at step 28
    on held-out training questions, 10 seeds; `benchmarks/lens_ridge_validation.py`): mean AUROC 0.622 against
    0.567 for logit_lens and 0.586 for ridge (paired: +0.055 ± 0.029, better on 8 seeds of 10; +0.036 ± 0.017, 7).
    Scored once on the test checkpoints (steps 66-200) it lost to logit_lens, 0.681 against 0.723 (README).
    `inputs` = `hidden`; predicting reads the ridge layer and the next-token statistics (full depth)."""

    Config = LensRidgeConfig
    input_kinds = ("hidden",)

    def _members(self) -> tuple[LogitLens, Probe]:
        from probecast.probes.linear import LinearConfig, RidgeProbe

        cfg = self.config
        grid = {} if cfg.l2_grid is None else {"l2_grid": list(cfg.l2_grid)}
        return (LogitLens(LensConfig(seed=cfg.seed, statistic=cfg.statistic, C=cfg.C)),
                RidgeProbe(LinearConfig(seed=cfg.seed, kind="ridge", pooling=cfg.pooling, layer=cfg.layer,
                                        cv=cfg.cv, **grid)))

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        self.lens_, self.ridge_ = (m.fit(X, y) for m in self._members())

    def _predict(self, X: FeatureSet) -> np.ndarray:
        z = 0.5 * (self.lens_.decision_function(X) + self.ridge_.decision_function(X))
        return 1.0 / (1.0 + np.exp(-z))

    def reads(self) -> FeatureReads:
        return FeatureReads(layers=(self.ridge_.layer_,), pooling=self.config.pooling, next_token=True)

    def _get_state(self):
        (la, le), (ra, re) = self.lens_._get_state(), self.ridge_._get_state()
        return ({**{f"lens.{k}": v for k, v in la.items()}, **{f"ridge.{k}": v for k, v in ra.items()}},
                {"lens": le, "ridge": re, "step_scale": self.step_scale_})

    def _set_state(self, arrays, extra) -> None:
        self.lens_, self.ridge_ = self._members()
        for name, member in (("lens", self.lens_), ("ridge", self.ridge_)):
            member._set_state({k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(name + ".")},
                              extra[name])
            member.fitted_, member.hidden_shape_, member.step_scale_ = True, None, float(extra["step_scale"])
