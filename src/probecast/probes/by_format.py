"""`by_format`: one probe for the multiple-choice tasks' rows and another for the generative tasks', each fitted
on its own rows.

A pure hidden-state probe fitted on every task at once has one weight vector and one layer for all of them. On
the real demo inside one checkpoint that fit is ruled by the generative tasks (six skills and GSM8K against
PIQA's 80 rows), whose answer states say how well the model reads its own answer, while on a multiple-choice task
what matters is which choice the model prefers — the gold choice's states *against* the others'
(`pooling="contrast"`, `FeatureSet.hidden_others`). Fitted on PIQA alone that difference ranks the checkpoint's
preference (dev questions: AUROC 0.68–0.71); inside the joint fit it stays at chance (README, session 24). So
the rows are split by format (`FeatureSet.multiple_choice`) and the member probe (`probe`, with `params`) is
fitted on each part, with its own layer and L2 chosen by its own CV and its own pooling (`choice_pooling` for the
multiple-choice part: `contrast`, chosen on 80 PIQA dev questions, 0.68 against 0.56 for `last_contrast`); a part
with fewer than `min_questions` questions is predicted by a member fitted on every row instead. `inputs` = `hidden`; predicting reads the union
of the members' layers (`members.MemberProbes`: reads and state, shared with `vote`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.probes.base import Probe, make_probe, register
from probecast.probes.inputs import question_groups
from probecast.probes.members import MemberProbes

PARTS = ("choice", "generative")


@dataclass
class ByFormatConfig:
    seed: int = 0
    probe: str = "ridge_layers"  # the member fitted on each format's rows (a pure hidden-state probe)
    pooling: str = "last_answer"  # the generative member's pooling
    choice_pooling: str = "contrast"  # the multiple-choice member's: the gold choice's states against the others'
    params: dict = field(default_factory=dict)  # the member's other parameters
    min_questions: int = 20  # a part with fewer questions is predicted by a member fitted on every row


def formats(X: FeatureSet) -> np.ndarray:
    """[n] "choice" for a multiple-choice task's row, else "generative" (features without the flag: generative)."""
    return np.where(X.multiple_choice_rows(), PARTS[0], PARTS[1])


@register("by_format")
class ByFormatProbe(MemberProbes):
    Config = ByFormatConfig
    input_kinds = ("hidden",)

    def _member(self, part: str) -> Probe:
        pooling = self.config.choice_pooling if part == PARTS[0] else self.config.pooling
        member = make_probe(self.config.probe, **{**self.config.params, "pooling": pooling, "seed": self.config.seed})
        if member.inputs() != ["hidden"]:
            raise ProbecastError(f"by_format: the member {self.config.probe!r} reads {member.inputs()}; it must "
                                 f"read hidden states alone")
        return member

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        part = formats(X)
        groups = question_groups(X)
        self.members_ = {}
        for name in PARTS:
            rows = np.flatnonzero(part == name)
            if len(np.unique(groups[rows])) >= self.config.min_questions:
                self.members_[name] = self._member(name).fit(X.subset(rows), y[rows])
        if len(self.members_) < len(PARTS) and (part != PARTS[0]).any() and (part != PARTS[1]).any() or \
                not self.members_:
            self.members_["all"] = self._member("all").fit(X, y)

    def _predict(self, X: FeatureSet) -> np.ndarray:
        part, out = formats(X), np.zeros(len(X))
        for name in PARTS:
            rows = np.flatnonzero(part == name)
            if len(rows):
                out[rows] = self.members_.get(name, self.members_.get("all")).predict_proba(X.subset(rows))
        return out
