"""Scorers grade one completion (generative) or one set of choice log-likelihoods (multiple choice).

Registry by name so task files (JSONL/YAML) can name their scorer: `exact_match`, `numeric`,
`numeric_last`, `regex`, `multiple_choice`.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from probecast.errors import ProbecastError
from probecast.tasks.schema import Question, Task

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_text(s: str) -> str:
    """Lower-case, drop punctuation and articles, collapse white space (SQuAD-style normalisation)."""
    s = s.lower().translate(_PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def cut_at_stop(completion: str, stop: Sequence[str]) -> str:
    cut = len(completion)
    for s in stop:
        i = completion.find(s)
        if i != -1:
            cut = min(cut, i)
    return completion[:cut]


def _to_number(s: str) -> float | None:
    try:
        return float(s.replace(",", "").rstrip("."))
    except ValueError:
        return None


class Scorer:
    kind: ClassVar[str] = "generate"  # or "loglik"
    name: ClassVar[str] = ""

    def validate(self, task: "Task") -> None:
        for q in task.questions:
            if self.kind == "generate" and not q.answers:
                raise ProbecastError(f"task {task.name!r}: question {q.id} has no reference answer, "
                                     f"which scorer {self.name!r} needs")
            if self.kind == "loglik" and (not q.choices or q.gold is None or not 0 <= q.gold < len(q.choices)):
                raise ProbecastError(f"task {task.name!r}: scorer {self.name!r} needs `choices` and a valid "
                                     f"`gold` index on every question (question {q.id} has neither); use a "
                                     f"generative scorer (exact_match, numeric, regex) for free-form answers")

    def score(self, completion: str, question: "Question") -> float:
        raise NotImplementedError


@dataclass
class ExactMatch(Scorer):
    name: ClassVar[str] = "exact_match"
    normalize: bool = True

    def score(self, completion: str, question: "Question") -> float:
        f = normalize_text if self.normalize else str.strip
        got = f(completion)
        return float(any(got == f(a) for a in question.answers))


@dataclass
class Numeric(Scorer):
    """GSM8K-style: the number after `####` (or the scratchpad's final `#`), else the last number."""

    name: ClassVar[str] = "numeric"
    marker: str | None = "####"

    def extract(self, completion: str) -> float | None:
        if self.marker and self.marker in completion:
            tail = completion.split(self.marker)[-1]
            m = _NUMBER.search(tail)
            if m:
                return _to_number(m.group(0))
        nums = _NUMBER.findall(completion)
        return _to_number(nums[-1]) if nums else None

    def validate(self, task: "Task") -> None:
        super().validate(task)
        for q in task.questions:
            if any(_to_number(a) is None for a in q.answers):
                raise ProbecastError(f"task {task.name!r}: scorer 'numeric' needs numeric answers; question "
                                     f"{q.id} has {list(q.answers)!r} (use exact_match instead)")

    def score(self, completion: str, question: "Question") -> float:
        got = self.extract(completion)
        if got is None:
            return 0.0
        return float(any(abs(got - _to_number(a)) < 1e-6 for a in question.answers))


@dataclass
class NumericLast(Numeric):
    """The last number in the completion, ignoring any marker."""

    name: ClassVar[str] = "numeric_last"
    marker: str | None = None


@dataclass
class Regex(Scorer):
    """Extract group 1 (or the whole match) of `pattern` from the completion and exact-match it."""

    name: ClassVar[str] = "regex"
    pattern: str = r"(.*)"

    def score(self, completion: str, question: "Question") -> float:
        m = re.search(self.pattern, completion)
        if not m:
            return 0.0
        got = normalize_text(m.group(1) if m.groups() else m.group(0))
        return float(any(got == normalize_text(a) for a in question.answers))


@dataclass
class MultipleChoice(Scorer):
    """Pick the choice with the highest log-likelihood (acc) or per-character log-likelihood (acc_norm),
    as lm-evaluation-harness does."""

    kind: ClassVar[str] = "loglik"
    name: ClassVar[str] = "multiple_choice"

    def score_choices(self, logliks: Sequence[float], choices: Sequence[str], gold: int) -> dict[str, float]:
        ll = np.asarray(logliks, dtype=np.float64)
        lengths = np.array([max(len(c), 1) for c in choices], dtype=np.float64)
        probs = np.exp(ll - ll.max())
        probs /= probs.sum()
        return {"acc": float(np.argmax(ll) == gold), "acc_norm": float(np.argmax(ll / lengths) == gold),
                "gold_prob": float(probs[gold])}


SCORERS: dict[str, type[Scorer]] = {c.name: c for c in (ExactMatch, Numeric, NumericLast, Regex, MultipleChoice)}


def make_scorer(name: str, **kwargs) -> Scorer:
    if name not in SCORERS:
        raise ProbecastError(f"unknown scorer {name!r}; choose one of {sorted(SCORERS)}")
    return SCORERS[name](**kwargs)
