"""Baselines behind the probe protocol, so the evaluation runs them on exactly the probes' splits.

- `carry_forward`: a question's pass@1 at the last labelled checkpoint it was seen on. A question without
  history gets its task's mean pass@1 at that task's last labelled checkpoint (the base rate). The
  evaluation fits it on every question's labels at the training checkpoints (it *is* allowed the held-out
  questions' early labels, which the probes never see: the strongest honest version of "nothing changes").
- `answer_loglik`: a calibration (`calibration.LoglikCalibrator`: exp(loglik) scaled by the task's listed path
  count, a guess floor, an offset for unlisted paths) of the answer log-likelihood at the new checkpoint,
  fitted on training rows: the one number a prefill pass gives for free, ranked exactly as it is.
- `answer_loglik_paths`: the same on the log-likelihood of *some* listed valid path (`answer_loglik_paths`),
  for tasks that list alternatives (`sum3`, `age_sum`): what scoring every path on each new checkpoint buys.
- `text_difficulty`: TF-IDF (word 1-2 grams) of the question text (without few-shot examples) + log length ->
  logistic; one row per distinct question with its mean pass@1 over the training checkpoints as target
  (weights = row counts).
- `training_loss`: a per-checkpoint constant: per task, logit(mean pass@1) = a + b·loss fitted over the
  training checkpoints, applied to the training loss logged for the new checkpoint (`losses` = {step: loss}).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.calibration import LoglikCalibrator
from probecast.probes.inputs import last_labels, question_keys

BASELINES = ("carry_forward", "answer_loglik", "answer_loglik_paths", "text_difficulty", "training_loss")  # the evaluation's default order


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def soft_logistic(D, p: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    """(coef, intercept) of an L2 logistic regression on soft targets p in [0, 1] with row weights w, as
    weighted duplicates: (x, 1) with weight p·w and (x, 0) with weight (1 − p)·w. One class only: the constant."""
    from scipy.sparse import issparse, vstack
    from sklearn.linear_model import LogisticRegression

    p, w = np.asarray(p, float), np.asarray(w, float)
    Xd = vstack([D, D]) if issparse(D) else np.vstack([D, D])
    yd, wd = np.r_[np.ones(len(p)), np.zeros(len(p))], np.r_[p * w, (1 - p) * w]
    if yd[wd > 0].min() == yd[wd > 0].max():
        return np.zeros(D.shape[1]), float(_logit(np.array([np.average(p, weights=w)]))[0])
    clf = LogisticRegression(C=C, max_iter=1000).fit(Xd, yd, sample_weight=wd)
    return clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


class _Baseline(Probe):
    uses_hidden = False
    input_kinds = ()

    def reads(self) -> FeatureReads:  # no hidden state; the answer-likelihood baselines override
        return FeatureReads(layers=())


@register("carry_forward")
class CarryForward(_Baseline):
    input_kinds = ("history",)
    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        self.by_question_ = last_labels(X, y)
        df = pd.DataFrame({"task": X.task.astype(str), "step": X.step, "y": y})
        at_last = df[df["step"] == df.groupby("task")["step"].transform("max")]
        self.by_task_ = at_last.groupby("task")["y"].mean().astype(float).to_dict()
        self.overall_ = float(at_last["y"].mean())

    def _predict(self, X: FeatureSet) -> np.ndarray:
        keys, tasks = question_keys(X), X.task.astype(str)
        return np.array([self.by_question_.get(k, self.by_task_.get(t, self.overall_)) for k, t in zip(keys, tasks)])

    def _get_state(self):
        return {}, {"by_question": self.by_question_, "by_task": self.by_task_, "overall": self.overall_}

    def _set_state(self, arrays, extra) -> None:
        self.by_question_, self.by_task_, self.overall_ = extra["by_question"], extra["by_task"], extra["overall"]


@register("answer_loglik")
class AnswerLoglik(_Baseline):
    input_kinds = ("answer_loglik",)
    use_paths = False

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        self.calib_ = LoglikCalibrator(use_paths=self.use_paths).fit(X, y)

    @property
    def needs_alternatives(self) -> bool:
        return self.use_paths

    def reads(self) -> FeatureReads:
        return FeatureReads(layers=(), answer_loglik=True, alternatives=self.use_paths)

    def _predict(self, X: FeatureSet) -> np.ndarray:
        return self.calib_.proba(X)

    def _get_state(self):
        return self.calib_.state("calib_"), {}

    def _set_state(self, arrays, extra) -> None:
        self.calib_ = LoglikCalibrator.from_state(arrays, "calib_")


@register("answer_loglik_paths")
class AnswerLoglikPaths(AnswerLoglik):
    """The same calibration on P(some listed answer path) at the new checkpoint: better ranked on multi-step
    tasks, at the price of scoring every listed path on every new checkpoint."""

    use_paths = True


@dataclass
class TextConfig(ProbeConfig):
    max_features: int = 5000
    C: float = 1.0


@register("text_difficulty")
class TextDifficulty(_Baseline):
    input_kinds = ("text",)
    Config = TextConfig

    def _texts(self, X: FeatureSet) -> np.ndarray:
        if X.text is None:
            raise ProbecastError("features: text_difficulty needs the prompts (FeatureSet.text / the 'prompts' "
                                 "metadata of the feature files); re-extract features with prompts stored")
        return X.text.astype(str)

    def _design(self, texts: np.ndarray):
        from scipy.sparse import csr_matrix, hstack

        length = (np.log1p([len(t) for t in texts]) - self.len_mean_) / self.len_std_
        return hstack([self.vec_.transform(texts), csr_matrix(length[:, None])]).tocsr()

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        df = pd.DataFrame({"text": self._texts(X), "y": y}).groupby("text")["y"].agg(["mean", "count"])
        texts = df.index.to_numpy().astype(str)
        self.vec_ = TfidfVectorizer(ngram_range=(1, 2), max_features=self.config.max_features, sublinear_tf=True)
        self.vec_.fit(texts)
        lens = np.log1p([len(t) for t in texts])
        self.len_mean_, self.len_std_ = float(lens.mean()), float(lens.std() or 1.0)
        D = self._design(texts)
        self.coef_, self.intercept_ = soft_logistic(D, df["mean"].to_numpy(), df["count"].to_numpy(), self.config.C)

    def _predict(self, X: FeatureSet) -> np.ndarray:
        z = self._design(self._texts(X)) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.asarray(z).reshape(-1)))

    def _get_state(self):
        vocab = {k: int(v) for k, v in self.vec_.vocabulary_.items()}
        return ({"coef": self.coef_, "intercept": np.array([self.intercept_]), "idf": self.vec_.idf_},
                {"vocabulary": vocab, "len_mean": self.len_mean_, "len_std": self.len_std_})

    def _set_state(self, arrays, extra) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vec_ = TfidfVectorizer(ngram_range=(1, 2), max_features=self.config.max_features, sublinear_tf=True)
        self.vec_.vocabulary_ = extra["vocabulary"]
        self.vec_.idf_ = arrays["idf"]
        self.len_mean_, self.len_std_ = extra["len_mean"], extra["len_std"]
        self.coef_, self.intercept_ = arrays["coef"], float(arrays["intercept"][0])


@dataclass
class LossConfig(ProbeConfig):
    losses: dict[str, float] = field(default_factory=dict)  # str(step) -> training loss at that checkpoint


@register("training_loss")
class TrainingLoss(_Baseline):
    input_kinds = ("training_loss",)
    Config = LossConfig

    def _loss(self, steps: np.ndarray) -> np.ndarray:
        losses = {int(k): float(v) for k, v in self.config.losses.items()}
        missing = sorted({int(s) for s in steps} - set(losses))
        if missing:
            raise ProbecastError(f"training_loss: no training loss for step(s) {missing[:5]}; pass the run's "
                                 f"training log as {{step: loss}} (e.g. `--train-loss FILE`)")
        return np.array([losses[int(s)] for s in steps])

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        df = pd.DataFrame({"task": X.task.astype(str), "loss": self._loss(X.step), "y": y})
        self.maps_ = {}
        for task, g in df.groupby("task"):
            per_ckpt = g.groupby("loss")["y"].mean()
            x, t = per_ckpt.index.to_numpy(), _logit(per_ckpt.to_numpy())
            b = float(np.polyfit(x, t, 1)[0]) if len(x) >= 2 else 0.0
            self.maps_[task] = [float(t.mean() - b * x.mean()), b]
        self.overall_ = [float(np.mean([m[0] for m in self.maps_.values()])),
                         float(np.mean([m[1] for m in self.maps_.values()]))]

    def _predict(self, X: FeatureSet) -> np.ndarray:
        loss = self._loss(X.step)
        ab = np.array([self.maps_.get(t, self.overall_) for t in X.task.astype(str)])
        return 1.0 / (1.0 + np.exp(-(ab[:, 0] + ab[:, 1] * loss)))

    def _get_state(self):
        return {}, {"maps": self.maps_, "overall": self.overall_}

    def _set_state(self, arrays, extra) -> None:
        self.maps_, self.overall_ = extra["maps"], extra["overall"]
