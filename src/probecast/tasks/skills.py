"""The skill suite of the real-model run: short generative tasks a small pretrained LLM can partly do and
learns from a few hundred supervised examples, written out as task JSONL files (tasks are data).

Each task is a generator `(rng, difficulty) -> (question, target, answers)`; difficulty (number size, list
length, distance) is graded so the easy questions are learnt first and the hard ones later, which is what
makes per-question success move across checkpoints. `write_skill_suite` writes, per task, a test file
(`<task>.jsonl`, the questions that are labelled) and a train file (`<task>.train.jsonl`, the fine-tuning
data), from separate seeds, with every train question whose text appears in the test file dropped: test
questions are never in the fine-tuning data. Answers are a few tokens long so labelling by sampling is cheap;
`word_add` and `word_sub` have a one-line worked solution (`5 + 3 = 8`) graded on its last number.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from probecast.io import write_text_atomic

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WORDS = ["apple", "dog", "cat", "tree", "book", "lamp", "fish", "cup", "door", "bird", "star", "milk", "sun", "hat",
         "car", "pen", "box", "egg", "key", "bed"]
UNITS = [("hours", "minutes", 60), ("minutes", "seconds", 60), ("days", "hours", 24), ("weeks", "days", 7),
         ("meters", "centimeters", 100), ("kilograms", "grams", 1000), ("years", "months", 12)]
NAMES = ["Tom", "Ann", "Sam", "Mia", "Leo", "Eva"]
THINGS = ["apples", "pens", "coins", "cards", "books", "shells"]

Item = tuple[str, str, tuple[str, ...]]  # question, target continuation, accepted answers
Generator = Callable[[random.Random, float], Item]


def _n(rng: random.Random, d: float, lo: int, hi: int) -> int:
    """A number in [lo, lo + d·(hi - lo)]: harder questions reach larger numbers."""
    return rng.randint(lo, max(lo, int(round(lo + d * (hi - lo)))))


def add(rng: random.Random, d: float) -> Item:
    a, b = _n(rng, d, 2, 199), _n(rng, d, 2, 199)
    return f"What is {a} plus {b}?", str(a + b), (str(a + b),)


def sub(rng: random.Random, d: float) -> Item:
    a = _n(rng, d, 5, 199)
    b = rng.randint(1, a)
    return f"What is {a} minus {b}?", str(a - b), (str(a - b),)


def mul(rng: random.Random, d: float) -> Item:
    a, b = _n(rng, d, 2, 9), _n(rng, d, 2, 30)
    return f"What is {a} times {b}?", str(a * b), (str(a * b),)


def weekday(rng: random.Random, d: float) -> Item:
    start, k = rng.randrange(7), _n(rng, d, 1, 30)
    ans = DAYS[(start + k) % 7]
    return f"What day is {k} days after {DAYS[start]}?", ans, (ans,)


def units(rng: random.Random, d: float) -> Item:
    big, small, factor = rng.choice(UNITS)
    n = _n(rng, d, 2, 30)
    return f"How many {small} are in {n} {big}?", str(n * factor), (str(n * factor),)


def list_last(rng: random.Random, d: float) -> Item:
    xs = rng.sample(WORDS, _n(rng, d, 3, 9))
    return f"What is the last word in the list: {', '.join(xs)}?", xs[-1], (xs[-1],)


def list_count(rng: random.Random, d: float) -> Item:
    xs = rng.sample(WORDS, _n(rng, d, 2, 12))
    return f"How many words are in the list: {', '.join(xs)}?", str(len(xs)), (str(len(xs)),)


def word_add(rng: random.Random, d: float) -> Item:
    a, b = _n(rng, d, 2, 60), _n(rng, d, 2, 60)
    who, what = rng.choice(NAMES), rng.choice(THINGS)
    return (f"{who} has {a} {what} and gets {b} more. How many {what} does {who} have now?",
            f"{a} + {b} = {a + b}", (str(a + b),))


def word_sub(rng: random.Random, d: float) -> Item:
    a = _n(rng, d, 5, 60)
    b = rng.randint(1, a - 1)
    who, what = rng.choice(NAMES), rng.choice(THINGS)
    return (f"{who} has {a} {what} and gives {b} away. How many {what} does {who} have left?",
            f"{a} - {b} = {a - b}", (str(a - b),))


@dataclass(frozen=True)
class Skill:
    name: str
    make: Generator
    scorer: str  # a probecast scorer name
    domain: str
    max_new_tokens: int = 8


SKILLS: dict[str, Skill] = {s.name: s for s in (
    Skill("add", add, "numeric_last", "arithmetic"),
    Skill("sub", sub, "numeric_last", "arithmetic"),
    Skill("mul", mul, "numeric_last", "arithmetic"),
    Skill("weekday", weekday, "exact_match", "dates"),
    Skill("units", units, "numeric_last", "units"),
    Skill("list_last", list_last, "exact_match", "lists"),
    Skill("list_count", list_count, "numeric_last", "lists"),
    Skill("word_add", word_add, "numeric_last", "word_problems", max_new_tokens=14),
    Skill("word_sub", word_sub, "numeric_last", "word_problems", max_new_tokens=14),
)}
TEMPLATE = "Question: {text}\nAnswer:"


def generate(skill: Skill, n: int, seed: int, exclude: set[str] = frozenset()) -> list[dict]:
    """n distinct questions (JSONL rows) of graded difficulty, none whose text is in `exclude`."""
    rng = random.Random(f"{skill.name}:{seed}")
    rows, seen, tries = [], set(exclude), 0
    while len(rows) < n and tries < 50 * n:
        tries += 1
        d = rng.random()
        text, target, answers = skill.make(rng, d)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"question": text, "answer": list(answers), "target": target,
                     "metadata": {"domain": skill.domain, "difficulty": round(d, 3)}})
    return rows


def header(skill: Skill, name: str | None = None) -> dict:
    return {"probecast_task": {"name": name or skill.name, "scorer": skill.scorer, "template": TEMPLATE,
                               "answer_prefix": " ", "stop": ["\n"], "max_new_tokens": skill.max_new_tokens,
                               "domain": skill.domain, "multi_step": False}}


def _write(path: Path, head: dict, rows: list[dict]) -> Path:
    write_text_atomic(path, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in [head, *rows]))
    return path


def write_skill_suite(folder: Path, names: list[str], n_test: int, n_train: int,
                      seed: int = 0) -> tuple[list[Path], list[Path]]:
    """Write <task>.jsonl (test) and <task>.train.jsonl (fine-tuning) per skill; returns (test, train) paths."""
    tests, trains = [], []
    for name in names:
        skill = SKILLS[name]
        test_rows = generate(skill, n_test, seed)
        train_rows = generate(skill, n_train, seed + 1, exclude={r["question"] for r in test_rows})
        tests.append(_write(folder / f"{name}.jsonl", header(skill), test_rows))
        trains.append(_write(folder / f"{name}.train.jsonl", header(skill, f"{name}_train"), train_rows))
    return tests, trains
