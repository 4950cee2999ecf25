"""Token ids of what the extraction pass reads: each question's prompt and reference continuation, the other
valid continuations of a generative question (`Question.alternatives`) and the other choices of a multiple-choice
question (what `ExtractConfig.others_pool` pools, so a probe can read the gold choice's states against them).
"""

from __future__ import annotations

from probecast.tasks.schema import Task


def reference_answer(task: Task, question) -> str:
    """The continuation scored for answer log-likelihood: the gold choice (MC) or the reference solution
    (the canonical target, e.g. a worked solution or scratchpad; the final answer when there is none).

    For a multi-step task this is the probability of one valid path, a lower bound on pass@1 that the probes
    calibrate; scoring only the final answer right after the prompt would ask the model for an answer in a
    form it never produces."""
    return task.reference_continuation(question)


def encode(tokenizer, task: Task, with_answer: bool) -> tuple[list[list[int]], list[int]]:
    """Token ids of prompt (+ answer) per question, and each prompt's length."""
    seqs, prompt_lens = [], []
    for q in task.questions:
        ctx = tokenizer(task.prompt(q)).input_ids
        ans = tokenizer(reference_answer(task, q), add_special_tokens=False).input_ids if with_answer else []
        seqs.append(ctx + ans)
        prompt_lens.append(len(ctx))
    return seqs, prompt_lens


def encode_alternatives(tokenizer, task: Task) -> list[list[list[int]]]:
    """Token ids of each question's other valid continuations (empty lists when it has none)."""
    out = []
    for q in task.questions:
        ids = (tokenizer(a, add_special_tokens=False).input_ids for a in task.alternative_continuations(q))
        out.append([x for x in ids if x])  # an empty continuation has no likelihood to add
    return out


def encode_others(tokenizer, task: Task, prompts: list[list[int]]) -> tuple[list[list[int]], list[int], list[int]]:
    """Prompt + each *other* choice of every multiple-choice question (none for a generative task): token ids,
    prompt lengths and the index of the question each sequence belongs to; `prompts` = each question's prompt
    token ids (`encode`'s). The extraction pools their states over the choice's tokens as it does the gold one's,
    as extra rows of the same pass."""
    seqs, prompt_lens, owner = [], [], []
    if not task.is_multiple_choice:
        return seqs, prompt_lens, owner
    for i, (q, ctx) in enumerate(zip(task.questions, prompts)):
        for j, choice in enumerate(q.choices):
            if j == q.gold:
                continue
            seqs.append(ctx + tokenizer(task.template.choice_prefix + choice, add_special_tokens=False).input_ids)
            prompt_lens.append(len(ctx))
            owner.append(i)
    return seqs, prompt_lens, owner
