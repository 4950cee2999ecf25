"""Label questions by real generative evaluation: per question n samples, c correct, pass@1 = c/n.

Multiple-choice tasks are scored by log-likelihood over the choices (n = 1). Results are written per
checkpoint × task as Parquet (schema in README, 'Workspace schema'); a file that exists is done, so
rerunning skips it and an interrupted run loses only the checkpoint × task in progress.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from probecast.labels.backend import Backend, SamplingConfig
from probecast.labels.passk import pass_at_k
from probecast.tasks.schema import Task


@dataclass(frozen=True)
class LabelConfig:
    samples: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int | None = None  # None: the task's own
    greedy: bool = True  # also one greedy completion per question
    batch_size: int = 64
    seed: int = 0

    def sampling(self, task: Task) -> SamplingConfig:
        return SamplingConfig(n=self.samples, temperature=self.temperature, top_p=self.top_p,
                              max_new_tokens=self.max_new_tokens or task.max_new_tokens, stop=task.stop)


def _base_rows(task: Task, checkpoint: str, step: int | None) -> dict[str, list]:
    qs = task.questions
    return {"checkpoint": [checkpoint] * len(qs), "step": [int(step) if step is not None else -1] * len(qs),
            "task": [task.name] * len(qs), "question_id": [q.id for q in qs],
            "domain": [str(q.metadata.get("domain", task.domain)) for q in qs],
            "difficulty": [float(q.metadata.get("difficulty", np.nan)) for q in qs]}


def label_generative(backend: Backend, task: Task, cfg: LabelConfig, checkpoint: str, step: int | None) -> pd.DataFrame:
    prompts = task.prompts()
    sampled = backend.generate(prompts, cfg.sampling(task))
    scores = [[task.scorer.score(c, q) for c in comps] for comps, q in zip(sampled, task.questions)]
    rows = _base_rows(task, checkpoint, step)
    n = [len(s) for s in scores]
    c = [int(round(sum(s))) for s in scores]
    rows.update(n=n, c=c, pass1=[ci / ni for ci, ni in zip(c, n)], k=n,
                pass_at_k=[pass_at_k(ni, ci, ni) for ni, ci in zip(n, c)],
                sample_correct=[float(s[0]) for s in scores])
    if cfg.greedy:
        from dataclasses import replace

        greedy = backend.generate(prompts, replace(cfg.sampling(task), greedy=True))
        rows["greedy_correct"] = [task.scorer.score(g[0], q) for g, q in zip(greedy, task.questions)]
        rows["greedy_completion"] = [g[0] for g in greedy]
    else:
        rows["greedy_correct"] = [np.nan] * len(prompts)
        rows["greedy_completion"] = [""] * len(prompts)
    rows["completions"] = sampled
    return pd.DataFrame(rows)


def label_multiple_choice(backend: Backend, task: Task, checkpoint: str, step: int | None) -> pd.DataFrame:
    contexts, conts, owner = [], [], []
    for i, q in enumerate(task.questions):
        ctx = task.prompt(q)
        for choice in q.choices:
            contexts.append(ctx)
            conts.append(task.template.choice_prefix + choice)
            owner.append(i)
    ll = backend.loglik(contexts, conts)
    per_q: list[list[float]] = [[] for _ in task.questions]
    for i, (value, _) in zip(owner, ll):
        per_q[i].append(value)
    scored = [task.scorer.score_choices(per_q[i], q.choices, q.gold) for i, q in enumerate(task.questions)]
    rows = _base_rows(task, checkpoint, step)
    acc = [s["acc"] for s in scored]
    rows.update(n=[1] * len(acc), c=[int(a) for a in acc], pass1=acc, k=[1] * len(acc), pass_at_k=acc,
                sample_correct=acc, greedy_correct=acc, acc_norm=[s["acc_norm"] for s in scored],
                gold_prob=[s["gold_prob"] for s in scored], greedy_completion=[""] * len(acc),
                completions=[[] for _ in acc])
    return pd.DataFrame(rows)


def label_task(backend: Backend, task: Task, cfg: LabelConfig, checkpoint: str,
               step: int | None) -> tuple[pd.DataFrame, dict]:
    """Label every question of `task`; returns the table and its metadata (settings, wall time)."""
    t0 = time.perf_counter()
    if task.is_multiple_choice:
        df = label_multiple_choice(backend, task, checkpoint, step)
    else:
        df = label_generative(backend, task, cfg, checkpoint, step)
    wall = time.perf_counter() - t0
    meta = {"wall_time_s": wall, "settings": asdict(cfg), "task": task.name, "checkpoint": checkpoint,
            "n_questions": len(df), "mode": "loglik" if task.is_multiple_choice else "generate"}
    return df, meta
