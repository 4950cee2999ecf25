"""Load tasks from files: probecast's JSONL schema (generative or multiple choice), GSM8K and PIQA in their
upstream formats. Prompts for GSM8K and PIQA follow lm-evaluation-harness's task configs so that scores are
comparable. Every parse error names the file and line.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

from probecast.errors import ProbecastError
from probecast.tasks.schema import PromptTemplate, Question, Task, question_id
from probecast.tasks.scorers import MultipleChoice, Numeric, make_scorer


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object); a malformed line raises ProbecastError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise ProbecastError(f"{path}: no such file")
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ProbecastError(f"{path}:{lineno}: not UTF-8 text (a binary or differently encoded file?); "
                                     f"give a JSON-lines file, one JSON object per line") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProbecastError(f"{path}:{lineno}: malformed JSON ({exc.msg}); fix or remove that line") from None
            if not isinstance(obj, dict):
                raise ProbecastError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def load_jsonl_task(path: str | Path, name: str | None = None) -> Task:
    """probecast task JSONL (README: 'Task JSONL schema').

    Optional first line `{"probecast_task": {name, scorer, scorer_args, template, fewshot, stop,
    max_new_tokens, domain, multi_step}}`, then one question per line:
    generative `{"question": str, "answer": str | [str], "target"?: str, "alternatives"?: [str], "id"?: str,
    "metadata"?: {...}}` (alternatives: other valid full continuations, scored with the target) or
    multiple choice `{"question": str, "choices": [str, ...], "answer": int, "context"?: str, "id"?: str}`.
    """
    path = Path(path)
    header: dict[str, Any] = {}
    rows: list[tuple[int, dict]] = []
    for lineno, obj in read_jsonl(path):
        if "probecast_task" in obj:
            if rows or header:
                raise ProbecastError(f"{path}:{lineno}: the `probecast_task` header must be the first line")
            header = obj["probecast_task"]
            continue
        rows.append((lineno, obj))
    if not rows:
        raise ProbecastError(f"{path}: no questions in the file")
    name = name or header.get("name") or path.stem
    is_mc = "choices" in rows[0][1]
    questions = []
    for lineno, obj in rows:
        if "question" not in obj or "answer" not in obj:
            raise ProbecastError(f"{path}:{lineno}: each line needs `question` and `answer` fields")
        text = str(obj["question"])
        if obj.get("context"):
            text = f"{obj['context']}\n{text}"
        if is_mc:
            choices = obj.get("choices")
            gold = obj["answer"]
            if not isinstance(choices, list) or len(choices) < 2:
                raise ProbecastError(f"{path}:{lineno}: `choices` must be a list of at least 2 strings")
            if not isinstance(gold, int) or not 0 <= gold < len(choices):
                raise ProbecastError(f"{path}:{lineno}: `answer` must be the index (0..{len(choices) - 1}) of the "
                                     f"correct choice, got {gold!r}")
            choices_t = tuple(str(c) for c in choices)
            answers = (choices_t[gold],)
        else:
            if "choices" in obj:
                raise ProbecastError(f"{path}:{lineno}: mixes multiple-choice and generative lines")
            ans = obj["answer"]
            answers = tuple(str(a) for a in (ans if isinstance(ans, list) else [ans]))
            choices_t, gold = None, None
        qid = str(obj.get("id") or question_id(name, text, answers, choices_t))
        meta = dict(obj.get("metadata") or {})
        alternatives = obj.get("alternatives", [])
        if not isinstance(alternatives, list) or (alternatives and is_mc):
            raise ProbecastError(f"{path}:{lineno}: `alternatives` must be a list of strings (generative tasks only)")
        questions.append(Question(id=qid, text=text, answers=answers, target=str(obj.get("target", "")),
                                  alternatives=tuple(str(a) for a in alternatives),
                                  choices=choices_t, gold=gold, metadata=meta))
    default_scorer = "multiple_choice" if is_mc else "exact_match"
    scorer = make_scorer(header.get("scorer", default_scorer), **header.get("scorer_args", {}))
    default_template = "Question: {text}\nAnswer:" if is_mc else "{text}"
    template = PromptTemplate(template=header.get("template", default_template),
                              fewshot=tuple(tuple(x) for x in header.get("fewshot", [])),
                              answer_prefix=header.get("answer_prefix", " " if is_mc else ""))
    try:
        return Task(name=name, questions=questions, scorer=scorer, template=template,
                    domain=header.get("domain", "general"), max_new_tokens=int(header.get("max_new_tokens", 32)),
                    stop=tuple(header.get("stop", ["\n"])), multi_step=bool(header.get("multi_step", False)))
    except ProbecastError as exc:
        raise ProbecastError(f"{path}: {exc}") from None


def _gsm8k_final(answer: str) -> str:
    return answer.split("####")[-1].strip().replace(",", "")


LM_EVAL_FEWSHOT_SEED = 1234  # lm-evaluation-harness's default `fewshot_random_seed`


def lm_eval_fewshot_indices(n_pool: int, n_questions: int, k: int, seed: int = LM_EVAL_FEWSHOT_SEED) -> list[list[int]]:
    """Few-shot example indices per question as lm-evaluation-harness draws them for a task whose few-shot
    split differs from its test split: one `Random(seed)`, then `rnd.sample(pool, k)` for each document in
    order (random.sample picks the same positions from `range(n)` as from a list of length n)."""
    rnd = random.Random(seed)
    return [rnd.sample(range(n_pool), k) for _ in range(n_questions)]


def load_gsm8k(data_dir: str | Path, split: str = "test", n_fewshot: int = 5, limit: int | None = None) -> Task:
    """GSM8K exactly as lm-evaluation-harness's `gsm8k` task (v3.0): "Question: ...\nAnswer:", 5 few-shot
    examples per question drawn from the train split with lm-eval's seeded sampler (so question i gets the
    same shots as lm-eval's document i), each followed by " <worked solution>\n\n"; generation stops at
    "Question:", "</s>" or "<|im_end|>" (max 256 new tokens); numeric scoring on `####` with a last-number
    fallback. `limit` keeps the first questions, like lm-eval's `--limit`."""
    data_dir = Path(data_dir)
    rows = [obj for _, obj in read_jsonl(data_dir / f"{split}.jsonl")][:limit]
    shots: list[str] = [""] * len(rows)
    if n_fewshot:
        train = [obj for _, obj in read_jsonl(data_dir / "train.jsonl")]
        picks = lm_eval_fewshot_indices(len(train), len(rows), n_fewshot)
        shots = ["".join(f"Question: {train[j]['question']}\nAnswer: {train[j]['answer']}\n\n" for j in idx)
                 for idx in picks]
    questions = []
    for obj, fewshot in zip(rows, shots):
        final = _gsm8k_final(obj["answer"])
        qid = question_id("gsm8k", obj["question"], (final,), None)
        questions.append(Question(id=qid, text=obj["question"], answers=(final,), target=obj["answer"],
                                  metadata={"domain": "math", **({"fewshot": fewshot} if n_fewshot else {})}))
    return Task(name="gsm8k", questions=questions, scorer=Numeric(marker="####"),
                template=PromptTemplate(template=("{fewshot}" if n_fewshot else "") + "Question: {text}\nAnswer:",
                                          answer_prefix=" "),
                domain="math", max_new_tokens=256, stop=("Question:", "</s>", "<|im_end|>"),
                multi_step=True, description=f"GSM8K grade-school math (lm-eval `gsm8k` prompt, {n_fewshot}-shot)")


def load_piqa(data_dir: str | Path, limit: int | None = None) -> Task:
    """PIQA validation as lm-evaluation-harness's `piqa`: "Question: {goal}\\nAnswer:" and choices " {sol}"."""
    data_dir = Path(data_dir)
    labels_file = data_dir / "valid-labels.lst"
    if not labels_file.is_file():
        raise ProbecastError(f"{labels_file}: no such file (PIQA needs valid.jsonl and valid-labels.lst)")
    labels = labels_file.read_text().split()
    questions = []
    for i, (lineno, obj) in enumerate(read_jsonl(data_dir / "valid.jsonl")):
        if limit is not None and len(questions) >= limit:
            break
        if i >= len(labels):
            raise ProbecastError(f"{labels_file}: fewer labels than questions in valid.jsonl (line {lineno})")
        choices = (obj["sol1"], obj["sol2"])
        gold = int(labels[i])
        qid = question_id("piqa", obj["goal"], (choices[gold],), choices)
        questions.append(Question(id=qid, text=obj["goal"], answers=(choices[gold],), choices=choices, gold=gold,
                                  metadata={"domain": "commonsense"}))
    return Task(name="piqa", questions=questions, scorer=MultipleChoice(),
                template=PromptTemplate(template="Question: {text}\nAnswer:"), domain="commonsense",
                description="PIQA physical commonsense (lm-eval `piqa` prompt)")
