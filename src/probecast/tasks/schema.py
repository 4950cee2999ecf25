"""Tasks are data: a `Task` is a list of `Question`s plus a prompt template and a scorer.

Models and scoring never live here; a task only says what to ask and how an answer is graded
(lm-evaluation-harness style). Question ids are content hashes, so labels, features and predictions made on
different machines or days join on the same id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Protocol


def question_id(task: str, text: str, answers: tuple[str, ...], choices: tuple[str, ...] | None) -> str:
    """Stable content hash of a question (16 hex chars)."""
    payload = json.dumps([task, text, list(answers), list(choices) if choices else None], ensure_ascii=False)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Question:
    id: str
    text: str  # the question before templating
    answers: tuple[str, ...]  # accepted final answers (MC: the gold choice text)
    target: str = ""  # canonical full continuation (e.g. a worked solution); teacher-forced for answer log-lik
    alternatives: tuple[str, ...] = ()  # other valid full continuations (a scratchpad in another order, ...)
    choices: tuple[str, ...] | None = None
    gold: int | None = None  # index into choices
    metadata: Mapping[str, Any] = field(default_factory=dict)  # domain, difficulty, ...

    @property
    def reference(self) -> str:
        return self.target or (self.answers[0] if self.answers else "")


@dataclass(frozen=True)
class PromptTemplate:
    """`template` formats one question (`{text}` and any metadata key); few-shot examples are
    (text, target) pairs rendered the same way, each followed by its target and `separator`."""

    template: str = "{text}"
    fewshot: tuple[tuple[str, str], ...] = ()
    separator: str = "\n\n"
    choice_prefix: str = " "  # MC: continuation = choice_prefix + choice
    answer_prefix: str = ""  # generative: prepended to the reference for teacher forcing (e.g. " ")

    def render(self, question: Question) -> str:
        shots = "".join(self.template.format(text=t) + target + self.separator for t, target in self.fewshot)
        return shots + self.template.format(text=question.text, **question.metadata)


class Scoring(Protocol):
    """What a task needs of its scorer (implemented by `probecast.tasks.scorers.Scorer`)."""

    kind: ClassVar[str]  # "generate" or "loglik"
    name: ClassVar[str]

    def validate(self, task: "Task") -> None: ...


@dataclass
class Task:
    name: str
    questions: list[Question]
    scorer: Scoring
    template: PromptTemplate = field(default_factory=PromptTemplate)
    domain: str = "general"
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ("\n",)
    multi_step: bool = False  # answers are generated in several steps (scratchpad); graded on the final answer
    description: str = ""

    def __post_init__(self) -> None:
        self.scorer.validate(self)

    @property
    def is_multiple_choice(self) -> bool:
        return self.scorer.kind == "loglik"

    def prompt(self, question: Question) -> str:
        return self.template.render(question)

    def prompts(self) -> list[str]:
        return [self.prompt(q) for q in self.questions]

    def reference_continuation(self, question: Question) -> str:
        """What teacher forcing scores after the prompt: the gold choice (MC) or the canonical target."""
        if self.is_multiple_choice:
            return self.template.choice_prefix + question.choices[question.gold]
        return self.template.answer_prefix + question.reference

    def alternative_continuations(self, question: Question) -> list[str]:
        """Other valid continuations (generative only). pass@1 of a model sampling at temperature 1 is the
        summed probability of every valid continuation, so when a task can list them (a scratchpad whose
        steps may come in any order) the answer log-likelihood is a log-sum-exp over all of them."""
        if self.is_multiple_choice:
            return []
        canonical = question.reference
        return [self.template.answer_prefix + a for a in dict.fromkeys(question.alternatives) if a != canonical]

    def subset(self, n: int | None, seed: int = 0) -> "Task":
        """A deterministic subset of n questions (all when n is None or >= size)."""
        if n is None or n >= len(self.questions):
            return self
        import random

        idx = sorted(random.Random(seed).sample(range(len(self.questions)), n))
        return Task(**{**self.__dict__, "questions": [self.questions[i] for i in idx]})
