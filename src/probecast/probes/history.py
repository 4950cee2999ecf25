"""The hybrid stacker with the question's last known label: `hybrid_history` (inputs hidden, answer_loglik, history).

Where little changes between checkpoints (a multiple-choice task labelled by log-likelihood, the late steps of a
fine-tuning run), yesterday's label (`carry_forward`) is hard to beat, and neither the hidden states nor the
answer's likelihood know it; where much changes, they know what the old label does not. This stacker gives the
hybrid's logistic (`hybrid.py`: the calibrated answer log-likelihood as offset, the hidden-state probe's
out-of-fold logit) one more column: the logit of the question's pass@1 at its previous labelled checkpoint, so
the stacker learns from the training checkpoints how much the old label still says.

- Training rows: the label of the same question at the previous *training* checkpoint (from the fit data
  itself); rows at the first training checkpoint have none and get their task's mean there.
- Predicting: the question's label at the last labelled checkpoint, from `history` ({task␟question_id:
  pass@1}, handed over like carry_forward's data: every question's labels at the training checkpoints, held-out
  questions included — the evaluation passes it; by default the fit data's own), else its task's mean there.

By label kind (`by_kind`, default on): the history and likelihood weights differ between multiple-choice tasks
(`FeatureSet.multiple_choice`) and generative ones, through two more columns, history × MC and calibrated
likelihood × MC. The two kinds want opposite stackers: a multiple-choice label is the argmax of the choices'
likelihoods, deterministic and slow to change, and the gold choice's likelihood alone does not say whether it
beats the others; a generative label is a sample rate that moves with training, and exp(log-likelihood) of a
short answer *is* that rate. One weight for both learnt "trust the old label" from the multiple-choice rows and
applied it to the generative ones (on the real demo: likelihood weight 0.12, history 1.7, so the generative
tasks' predicted scores stayed flat while their real ones rose). Chosen on the training checkpoints only: fitted on
steps 0–12 of the real demo's training questions and scored at step 28 on held-out ones (5 seeds), mean AUROC
0.871 / 0.842 / 0.928 / 0.821 / 0.695 without and 0.929 / 0.848 / 0.979 / 0.938 / 0.971 with, task-score error
0.09–0.14 → 0.03–0.04; a history-gap interaction tried beside it added nothing. With no multiple-choice rows the
two columns are zero and nothing changes.

Like carry_forward it can only speak for questions labelled before, so it is scored beside carry_forward, not
as a pure probe; its `inputs` say `history`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from probecast.features.featureset import FeatureSet
from probecast.probes.base import register
from probecast.probes.hybrid import HybridConfig, HybridProbe
from probecast.probes.inputs import last_labels, question_keys

_CLIP = 0.05  # pass@1 of 0 or 1 maps to logit(0.05) / logit(0.95): a label from a few samples is not certain


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


@dataclass
class HistoryConfig(HybridConfig):
    history: dict[str, float] | None = None  # last known pass@1 per task␟question_id (default: the fit data's)
    by_kind: bool = True  # separate history / likelihood weights for multiple-choice tasks (module docstring)


@register("hybrid_history")
class HistoryHybrid(HybridProbe):
    input_kinds = ("hidden", "answer_loglik", "history")
    Config = HistoryConfig

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        df = pd.DataFrame({"key": question_keys(X), "task": X.task.astype(str), "step": X.step.astype(int), "y": y})
        df = df.sort_values(["key", "step"], kind="stable")
        df["prev"] = df.groupby("key")["y"].shift(1)
        first = df["prev"].isna()
        df.loc[first, "prev"] = df[first].groupby(["task", "step"])["y"].transform("mean")
        self.train_prev_ = {(k, s): float(p) for k, s, p in zip(df["key"], df["step"], df["prev"])}
        self.history_ = dict(self.config.history) if self.config.history else last_labels(X, y)
        at_last = df[df["step"] == df.groupby("task")["step"].transform("max")]
        self.task_last_ = {str(t): float(v) for t, v in at_last.groupby("task")["y"].mean().items()}
        try:
            super()._fit(X, y)
        finally:
            del self.train_prev_  # training rows only: predictions read `history_`

    def _history_column(self, X: FeatureSet) -> np.ndarray:
        keys, tasks, steps = question_keys(X), X.task.astype(str), X.step.astype(int)
        prev = getattr(self, "train_prev_", None)
        out = np.empty(len(X))
        for i, (k, t, s) in enumerate(zip(keys, tasks, steps)):
            if prev is not None and (k, int(s)) in prev:
                out[i] = prev[(k, int(s))]
            else:
                out[i] = self.history_.get(str(k), self.task_last_.get(str(t), 0.5))
        return _logit(out)

    def _columns(self, X: FeatureSet, hidden_logit: np.ndarray, use_hidden: bool) -> np.ndarray:
        h = self._history_column(X)
        cols = [super()._columns(X, hidden_logit, use_hidden), h[:, None]]
        if self.config.by_kind:
            mc = np.zeros(len(X)) if X.multiple_choice is None else np.asarray(X.multiple_choice, dtype=np.float64)
            cols.append(np.stack([h * mc, self.calib_.logit(X) * mc], axis=1))
        return np.concatenate(cols, axis=1)

    def _get_state(self):
        arrays, extra = super()._get_state()
        return arrays, {**extra, "history": self.history_, "task_last": self.task_last_}

    def _set_state(self, arrays, extra) -> None:
        super()._set_state(arrays, extra)
        self.history_, self.task_last_ = dict(extra["history"]), dict(extra["task_last"])
        n_plain = int(self.use_hidden_) + int(self.config.include_progress) + 1  # columns without the kind pair
        if np.shape(self.scaler_.mean)[-1] == n_plain:  # saved before `by_kind` existed
            self.config.by_kind = False
