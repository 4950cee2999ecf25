"""Do two labelling backends give the same labels? Greedy text, sampled pass@1, log-likelihoods.

- greedy: the share of questions whose greedy completions are identical strings (float32 on both sides);
- sampled pass@1: per task, a paired sign-flip permutation test on the per-question difference of pass@1.
  Under "both engines sample from the same distribution", each question's two sample sets are exchangeable,
  so swapping them (flipping the sign of that question's difference) leaves the distribution of the mean
  difference unchanged: the test is exact for any per-question success rates (scipy `permutation_test`,
  all 2^Q flips when Q ≤ 16, else 20,000 random ones). A small p-value says the engines' sampling differs
  beyond binomial noise;
- loglik: the largest absolute difference of the summed continuation log-probability over all pairs.

`compare_backends` runs both backends on the same tasks and returns these numbers per task
(`benchmarks/vllm_agreement.py` prints them; `tests/labels/test_vllm_agreement.py` asserts them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from probecast.labels.backend import Backend
from probecast.labels.label import LabelConfig
from probecast.tasks.schema import Task


def greedy_agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of positions where the two completions are the same string."""
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty lists of completions (got {len(a)} and {len(b)})")
    return float(np.mean([x == y for x, y in zip(a, b)]))


def paired_pass1_pvalue(pass1_a: Sequence[float], pass1_b: Sequence[float], seed: int = 0) -> float:
    """Two-sided p-value of the paired sign-flip permutation test of mean(pass1_b - pass1_a) = 0."""
    from scipy.stats import permutation_test

    a, b = np.asarray(pass1_a, dtype=float), np.asarray(pass1_b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"need per-question pass@1 of the same questions (got {a.shape} and {b.shape})")
    d = b - a
    if not np.any(d):
        return 1.0
    res = permutation_test((a, b), lambda x, y, axis: np.mean(y - x, axis=axis), permutation_type="samples",
                           vectorized=True, alternative="two-sided", n_resamples=20_000, random_state=seed)
    return float(res.pvalue)


@dataclass(frozen=True)
class AgreementConfig:
    label: LabelConfig = field(default_factory=lambda: LabelConfig(samples=8, greedy=False))  # the sampling
    greedy_max_new_tokens: int | None = None  # None: the task's own
    sampled: bool = True  # False: greedy completions only (e.g. a task whose pass@1 is ~0 either way)


def _sampled_pass1(backend: Backend, task: Task, cfg: AgreementConfig) -> tuple[np.ndarray | None, list[str]]:
    label_cfg = cfg.label
    pass1 = None
    if cfg.sampled:
        sampled = backend.generate(task.prompts(), label_cfg.sampling(task))
        pass1 = np.array([np.mean([task.scorer.score(c, q) for c in comps])
                          for comps, q in zip(sampled, task.questions)])
    greedy = backend.generate(task.prompts(), replace(label_cfg.sampling(task), greedy=True,
                                                      max_new_tokens=cfg.greedy_max_new_tokens or task.max_new_tokens))
    return pass1, [g[0] for g in greedy]


def _choice_logliks(backend: Backend, task: Task) -> np.ndarray:
    contexts = [task.prompt(q) for q in task.questions for _ in q.choices]
    conts = [task.template.choice_prefix + c for q in task.questions for c in q.choices]
    return np.array([v for v, _ in backend.loglik(contexts, conts)])


def compare_backends(a: Backend, b: Backend, tasks: Sequence[Task], cfg: AgreementConfig | None = None) -> dict:
    """Per task: generative → {greedy_identical, pass1_a, pass1_b, p_value, questions}; multiple choice →
    {loglik_max_abs_diff, loglik_mean_abs_diff, choice_agreement, questions}."""
    cfg = cfg or AgreementConfig()
    out: dict[str, dict] = {}
    for task in tasks:
        if task.is_multiple_choice:
            la, lb = _choice_logliks(a, task), _choice_logliks(b, task)
            owner = np.repeat(np.arange(len(task.questions)), [len(q.choices) for q in task.questions])
            pick = [(np.argmax(la[owner == i]), np.argmax(lb[owner == i])) for i in range(len(task.questions))]
            out[task.name] = {"questions": len(task.questions), "loglik_max_abs_diff": float(np.max(np.abs(la - lb))),
                              "loglik_mean_abs_diff": float(np.mean(np.abs(la - lb))),
                              "choice_agreement": float(np.mean([x == y for x, y in pick]))}
            continue
        pa, ga = _sampled_pass1(a, task, cfg)
        pb, gb = _sampled_pass1(b, task, cfg)
        out[task.name] = {"questions": len(task.questions), "greedy_identical": greedy_agreement(ga, gb),
                          "greedy_mismatches": [(x, y) for x, y in zip(ga, gb) if x != y][:3]}
        if cfg.sampled:
            out[task.name].update(samples=cfg.label.samples, pass1_a=float(pa.mean()), pass1_b=float(pb.mean()),
                                  p_value=paired_pass1_pvalue(pa, pb))
    return out
