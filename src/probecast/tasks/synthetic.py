"""The built-in synthetic suite: tasks over a generated world, deterministic from a seed.

The same generators write the embedded model's pretraining corpus (`probecast.toy.corpus`) and the
evaluation questions, so skills are learnable; difficulty is graded inside each task (digit count, string
length, how often a fact appears in pretraining) so that skills emerge at different training steps and the
hardest questions stay unsolved. Two tasks (`sum3`, `age_sum`) are multi-step: the model writes a scratchpad
of intermediate results in any valid order and is graded on the final `#answer` only.

Prompts are few-shot like the field's benchmarks (GSM8K 8-shot, MMLU 5-shot): each question is preceded by
examples of its task drawn from the pretraining distribution, each written as a pretraining document
(`example answer\n<s>`, `<s>` being the toy tokenizer's document start), as many as fit a context budget
(`SyntheticSuite.context_budget`, the toy is trained on 128-token rows). Shots are seeded per question (as
lm-evaluation-harness does) and never mention the question's own entities or strings, so they cannot leak
its answer. The prompt then dominates the tokens of a forward pass, as on real benchmarks.

Domains: arithmetic (add, mul), string (copy, reverse), knowledge (color, age), composition (sum3, age_sum).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from probecast.tasks.schema import PromptTemplate, Question, Task, question_id
from probecast.tasks.scorers import ExactMatch, Numeric

ALPHABET = string.ascii_lowercase + string.digits + " \n:=+*#>-.,?"
COLORS = ["red", "blue", "green", "pink", "gold", "gray", "teal", "tan"]
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]

# A sample is (prompt text, canonical target, accepted final answers, difficulty in [0, 1])
Sample = tuple[str, str, tuple[str, ...], float]


@dataclass(frozen=True)
class World:
    """Entities with a color, an age, and a pretraining frequency that falls with rank (Zipf)."""

    seed: int = 0
    n_entities: int = 160
    zipf: float = 1.1

    @cached_property
    def entities(self) -> list[dict]:
        rng = random.Random(self.seed)
        names: list[str] = []
        while len(names) < self.n_entities:
            name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice([2, 3])))
            if name not in names:
                names.append(name)
        weights = [1.0 / (r + 1) ** self.zipf for r in range(self.n_entities)]
        total = sum(weights)
        return [{"name": n, "color": rng.choice(COLORS), "age": rng.randint(10, 49), "rank": r,
                 "freq": w / total} for r, (n, w) in enumerate(zip(names, weights))]

    @cached_property
    def weights(self) -> list[float]:
        return [e["freq"] for e in self.entities]

    def pick(self, rng: random.Random) -> dict:
        """An entity drawn by pretraining frequency."""
        return rng.choices(self.entities, weights=self.weights)[0]

    def difficulty(self, entity: dict) -> float:
        return entity["rank"] / max(self.n_entities - 1, 1)


def _num(rng: random.Random, digits: int) -> int:
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def _word(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(length))


@dataclass(frozen=True)
class SyntheticSpec:
    name: str
    domain: str
    make: Callable[[random.Random, World, float], Sample]  # (rng, world, difficulty level 0..1) → sample
    multi_step: bool = False
    numeric: bool = False
    max_new_tokens: int = 16
    paths: Callable[[str, str], tuple[str, ...]] | None = None  # (text, target) → every valid target


def _add(rng, world, level) -> Sample:
    da, db = [(1, 1), (2, 1), (2, 2), (3, 2), (3, 3)][min(int(level * 5), 4)]
    a, b = _num(rng, da), _num(rng, db)
    return f"{a}+{b}=", str(a + b), (str(a + b),), (da + db - 2) / 4


def _mul(rng, world, level) -> Sample:
    da, db = [(1, 1), (1, 1), (2, 1), (2, 1), (2, 2)][min(int(level * 5), 4)]
    a, b = _num(rng, da), _num(rng, db)
    return f"{a}*{b}=", str(a * b), (str(a * b),), (da + db - 2) / 2


def _copy(rng, world, level) -> Sample:
    n = 3 + int(level * 9)
    w = _word(rng, n)
    return f"copy {w} >", w, (w,), (n - 3) / 9


def _reverse(rng, world, level) -> Sample:
    n = 2 + int(level * 6)
    w = _word(rng, n)
    return f"rev {w} >", w[::-1], (w[::-1],), (n - 2) / 6


def _entity_at(rng: random.Random, world: World, level: float) -> dict:
    return world.entities[min(int(level * world.n_entities), world.n_entities - 1)]


def _color(rng, world, level) -> Sample:
    e = _entity_at(rng, world, level)
    return f"color of {e['name']}:", e["color"], (e["color"],), world.difficulty(e)


def _age(rng, world, level) -> Sample:
    e = _entity_at(rng, world, level)
    return f"age of {e['name']}:", str(e["age"]), (str(e["age"]),), world.difficulty(e)


def _sum3(rng, world, level) -> Sample:
    """a+b+c with a scratchpad of partial sums; any order of the three terms is a valid path."""
    digits = [1, 1, 2] if level < 0.34 else ([2, 1, 2] if level < 0.67 else [2, 2, 2])
    xs = [_num(rng, d) for d in digits]
    order = xs[:]
    rng.shuffle(order)
    s1 = order[0] + order[1]
    pad = f"{order[0]}+{order[1]}={s1} {s1}+{order[2]}={s1 + order[2]} #{sum(xs)}"
    return f"sum {xs[0]} {xs[1]} {xs[2]} =", pad, (str(sum(xs)),), (sum(digits) - 4) / 2


def _sum3_paths(text: str, target: str) -> tuple[str, ...]:
    """Every valid scratchpad of `sum a b c =`: the three terms in any order."""
    from itertools import permutations

    xs = [int(x) for x in text.split()[1:4]]
    pads = []
    for o in permutations(xs):
        s1 = o[0] + o[1]
        pads.append(f"{o[0]}+{o[1]}={s1} {s1}+{o[2]}={s1 + o[2]} #{sum(xs)}")
    return tuple(dict.fromkeys(pads))


def _age_sum_paths(text: str, target: str) -> tuple[str, ...]:
    """Both valid scratchpads of `ages x y =`: recall either entity first."""
    first, second, _, final = target.split(" ")
    (na, aa), (nb, ab) = first.split("="), second.split("=")
    swapped = f"{nb}={ab} {na}={aa} {ab}+{aa}={int(aa) + int(ab)} {final}"
    return tuple(dict.fromkeys([target, swapped]))


def _age_sum(rng, world, level) -> Sample:
    """Sum of two entities' ages: recall both (either order), then add."""
    e1, e2 = _entity_at(rng, world, level * 0.6), world.pick(rng)
    pair = [e1, e2]
    rng.shuffle(pair)
    a, b = pair
    pad = f"{a['name']}={a['age']} {b['name']}={b['age']} {a['age']}+{b['age']}={a['age'] + b['age']} #{e1['age'] + e2['age']}"
    return f"ages {e1['name']} {e2['name']} =", pad, (str(e1["age"] + e2["age"]),), (world.difficulty(e1) + world.difficulty(e2)) / 2


SPECS: dict[str, SyntheticSpec] = {s.name: s for s in [
    SyntheticSpec("add", "arithmetic", _add, numeric=True, max_new_tokens=6),
    SyntheticSpec("mul", "arithmetic", _mul, numeric=True, max_new_tokens=6),
    SyntheticSpec("copy", "string", _copy, max_new_tokens=14),
    SyntheticSpec("reverse", "string", _reverse, max_new_tokens=10),
    SyntheticSpec("color", "knowledge", _color, max_new_tokens=6),
    SyntheticSpec("age", "knowledge", _age, numeric=True, max_new_tokens=4),
    SyntheticSpec("sum3", "composition", _sum3, multi_step=True, numeric=True, max_new_tokens=28,
                  paths=_sum3_paths),
    SyntheticSpec("age_sum", "composition", _age_sum, multi_step=True, numeric=True, max_new_tokens=34,
                  paths=_age_sum_paths),
]}


SHOT_SEPARATOR = "\n<s>"  # end of one pretraining document, start of the next
_TEMPLATE_WORDS = {"color", "of", "age", "ages", "sum", "copy", "rev"}


def _names(text: str) -> set[str]:
    """The question's own entities/strings/numbers (what a shot must not mention)."""
    return {w.strip(":=>") for w in text.split()} - _TEMPLATE_WORDS - {"", "=", ">"}


@dataclass(frozen=True)
class SyntheticSuite:
    """Evaluation questions of every synthetic task, graded over `levels` difficulty levels.

    `context_budget`: characters (≈ tokens of the char-level toy tokenizer) that shots + question + reference
    answer may fill; 0 = zero-shot prompts. `max_shots` caps the examples per question."""

    world: World = field(default_factory=World)
    n_per_task: int = 120
    seed: int = 1234
    context_budget: int = 120
    max_shots: int = 8

    def shots(self, name: str, text: str, target: str) -> str:
        """Few-shot prefix for one question: task examples from the pretraining distribution that fit."""
        if self.context_budget <= 0 or self.max_shots <= 0:
            return ""
        rng = random.Random(f"{self.seed}/{name}/shots/{text}")
        own = _names(text)
        room = self.context_budget - len(text) - len(target) - 2  # BOS + space before the answer
        out: list[str] = []
        for _ in range(8 * self.max_shots):
            if len(out) >= self.max_shots:
                break
            shot_text, shot_target = example(rng, self.world, name)
            if own & _names(shot_text) or shot_text == text or any(d.startswith(f"{shot_text} ") for d in out):
                continue
            doc = f"{shot_text} {shot_target}{SHOT_SEPARATOR}"
            if len(doc) - 2 > room:  # "<s>" is one token
                break
            out.append(doc)
            room -= len(doc) - 2
        return "".join(out)

    def task(self, name: str) -> Task:
        spec = SPECS[name]
        rng = random.Random(f"{self.seed}/{name}")
        questions, seen = [], set()
        attempts = 0
        while len(questions) < self.n_per_task and attempts < self.n_per_task * 50:
            attempts += 1
            level = (len(questions) + 0.5) / self.n_per_task
            text, target, answers, difficulty = spec.make(rng, self.world, level)
            if text in seen:
                continue
            seen.add(text)
            qid = question_id(f"synthetic/{name}", text, answers, None)
            alternatives = tuple(p for p in spec.paths(text, target) if p != target) if spec.paths else ()
            questions.append(Question(id=qid, text=text, answers=answers, target=target, alternatives=alternatives,
                                      metadata={"domain": spec.domain, "difficulty": round(difficulty, 4),
                                                "fewshot": self.shots(name, text, target)}))
        scorer = Numeric(marker="#") if spec.numeric else ExactMatch(normalize=False)
        return Task(name=name, questions=questions, scorer=scorer,
                    template=PromptTemplate(template="{fewshot}{text}", answer_prefix=" "), domain=spec.domain,
                    max_new_tokens=spec.max_new_tokens, stop=("\n",), multi_step=spec.multi_step,
                    description=f"synthetic {spec.domain} task")

    def tasks(self) -> list[Task]:
        return [self.task(name) for name in SPECS]


def example(rng: random.Random, world: World, name: str) -> tuple[str, str]:
    """(text, target) of one task example as pretraining sees it: random difficulty, facts by frequency."""
    if name in ("color", "age"):
        e = world.pick(rng)
        return (f"color of {e['name']}:", e["color"]) if name == "color" else (f"age of {e['name']}:", str(e["age"]))
    text, target, _, _ = SPECS[name].make(rng, world, rng.random())
    return text, target


def corpus_line(rng: random.Random, world: World, task_weights: dict[str, float]) -> str:
    """One pretraining document: a task example at a random difficulty (facts drawn by frequency)."""
    name = rng.choices(list(task_weights), weights=list(task_weights.values()))[0]
    text, target = example(rng, world, name)
    return f"{text} {target}"
