"""Supervised fine-tuning examples: (prompt, completion) pairs in the exact prompt format of evaluation.

Training on `Question: ...\\nAnswer:` + ` <worked solution>` teaches the model the lm-evaluation-harness format
it is later scored in, like the instruction-tuning stage of a post-training pipeline. Sources:
- `gsm8k`: the GSM8K train split from the shared data folder (never the test split the tasks use);
- a JSONL file of `{"prompt": str, "completion": str}` lines;
- a probecast task JSONL (question + `target` or `answer`), rendered with the task's own template.
"""

from __future__ import annotations

import random
from pathlib import Path

from probecast.errors import ProbecastError
from probecast.tasks.loaders import read_jsonl


def gsm8k_train_pairs() -> list[tuple[str, str]]:
    from probecast.tasks.registry import _benchmark_dir

    return [(f"Question: {o['question']}\nAnswer:", " " + o["answer"])
            for _, o in read_jsonl(_benchmark_dir("gsm8k") / "train.jsonl")]


def jsonl_pairs(path: Path) -> list[tuple[str, str]]:
    rows = [(n, o) for n, o in read_jsonl(path) if "probecast_task" not in o]
    if rows and "prompt" in rows[0][1]:
        out = []
        for n, o in rows:
            if not isinstance(o.get("completion"), str):
                raise ProbecastError(f"{path}:{n}: a prompt line needs a string `completion`")
            out.append((str(o["prompt"]), o["completion"]))
        return out
    from probecast.tasks.loaders import load_jsonl_task

    task = load_jsonl_task(path)
    return [(task.prompt(q), task.reference_continuation(q)) for q in task.questions]


def training_pairs(source: str, limit: int | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """The (prompt, completion) pairs of `source` (comma-separated sources are concatenated), shuffled deterministically, at most `limit`."""
    pairs: list[tuple[str, str]] = []
    for item in [s.strip() for s in source.split(",") if s.strip()]:
        pairs += _source_pairs(item)
    if not pairs:
        raise ProbecastError(f"{source}: no training examples")
    random.Random(seed).shuffle(pairs)
    return pairs[:limit] if limit else pairs


def _source_pairs(source: str) -> list[tuple[str, str]]:
    if source == "gsm8k":
        return gsm8k_train_pairs()
    if Path(source).is_file():
        return jsonl_pairs(Path(source))
    raise ProbecastError(f"--task {source!r}: training data must be `gsm8k` (its train split) or a JSONL file "
                             f"of {{prompt, completion}} lines / a probecast task JSONL (several: comma-separated)")


def encode_pairs(tokenizer, pairs: list[tuple[str, str]], max_len: int) -> list[tuple[list[int], int]]:
    """Token ids of prompt + completion + EOS (truncated to max_len) and the prompt length (loss is masked
    on the prompt). Prompt with special tokens, completion without: the convention of evaluation."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    out = []
    for prompt, completion in pairs:
        p = tokenizer(prompt).input_ids
        c = tokenizer(completion, add_special_tokens=False).input_ids + eos
        ids = (p + c)[:max_len]
        if len(ids) > len(p):  # at least one supervised token
            out.append((ids, len(p)))
    return out
