"""`FeatureSet`: what a probe sees for a batch of questions.

One row per (checkpoint, task, question). Arrays are stacked row-wise so that training can pool several
labelled checkpoints and tasks; `checkpoint`, `step` and `task` say where each row came from.
Optional arrays are None when the extraction did not keep them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np


# Optional per-row values that may be missing from some blocks (features written before they existed): NaN
# there instead of dropping the column for every block. Its users skip non-finite rows.
NAN_FILLED = ("answer_loglik_paths",)
# Blocks only multiple-choice tasks have: zeros for the other tasks' rows when concatenated with them (a
# multiple-choice block without it still drops the column: its features predate it).
MC_ONLY = ("hidden_others",)


@dataclass
class FeatureSet:
    question_ids: np.ndarray  # [n] str
    task: np.ndarray  # [n] str
    checkpoint: np.ndarray  # [n] str, checkpoint id
    step: np.ndarray  # [n] int, training step of the checkpoint
    hidden_last: np.ndarray  # [n, L, D] float32: hidden state at the last prompt token, every kept layer
    hidden_mean: np.ndarray | None = None  # [n, L, D] mean over prompt tokens
    hidden_answer: np.ndarray | None = None  # [n, L, D] mean over the reference answer's tokens (teacher-forced)
    hidden_others: np.ndarray | None = None  # [n, L, D] multiple choice: the same over each other choice, averaged
    #                                           (zero for a question without other choices, e.g. generative)
    tail: np.ndarray | None = None  # [n, T, D] last T prompt-token states at one layer (for attention probes)
    tail_mask: np.ndarray | None = None  # [n, T] bool, False where the prompt was shorter than T
    answer_loglik: np.ndarray | None = None  # [n] teacher-forced log-likelihood of the reference answer (sum)
    answer_loglik_mean: np.ndarray | None = None  # [n] the same per answer token
    answer_loglik_paths: np.ndarray | None = None  # [n] log-sum-exp over every listed valid answer path
    next_token: np.ndarray | None = None  # [n, 3] the next-token distribution after the prompt (extract.NEXT_TOKEN)
    progress: np.ndarray | None = None  # [n] training progress of the checkpoint (e.g. log-step scaled to 0..1)
    text: np.ndarray | None = None  # [n] str, the question text (for text-only baselines)
    multiple_choice: np.ndarray | None = None  # [n] bool: the row's task is multiple choice (pass@1 = argmax)
    layer_ids: tuple[int, ...] | None = None  # not per row: the feature layers axis 1 of hidden_* holds, when an
    #                                            extraction kept only those a probe reads (None = 0..L-1, all)

    def __post_init__(self) -> None:
        n = len(self.question_ids)
        for f in row_fields():
            value = getattr(self, f.name)
            if value is not None and len(value) != n:
                raise ValueError(f"FeatureSet.{f.name} has {len(value)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.question_ids)

    @property
    def n_layers(self) -> int:
        return self.hidden_last.shape[1]

    @property
    def dim(self) -> int:
        return self.hidden_last.shape[2]

    def multiple_choice_rows(self) -> np.ndarray:
        """[n] bool: the row's task is multiple choice (all False when unknown: features without the column)."""
        return np.zeros(len(self), bool) if self.multiple_choice is None else np.asarray(self.multiple_choice, bool)

    @property
    def is_multiple_choice(self) -> bool:
        """Does any row come from a multiple-choice task?"""
        return bool(self.multiple_choice_rows().any())

    def layer_positions(self, layers: Sequence[int]) -> list[int]:
        """Where feature layers `layers` sit on axis 1 of hidden_last/hidden_mean (KeyError if not kept)."""
        if self.layer_ids is None:
            return [int(l) for l in layers]
        pos = {l: j for j, l in enumerate(self.layer_ids)}
        return [pos[int(l)] for l in layers]

    def subset(self, index: np.ndarray | Sequence[int]) -> "FeatureSet":
        """Rows selected by a boolean mask or integer index."""
        index = np.asarray(index)
        return FeatureSet(**{f.name: (None if getattr(self, f.name) is None else getattr(self, f.name)[index])
                             for f in row_fields()}, layer_ids=self.layer_ids)

    @staticmethod
    def concat(parts: Sequence["FeatureSet"]) -> "FeatureSet":
        if not parts:
            raise ValueError("FeatureSet.concat needs at least one part")
        layer_ids = {p.layer_ids for p in parts}
        if len(layer_ids) > 1:
            raise ValueError(f"FeatureSet.concat: parts keep different layers {sorted(map(str, layer_ids))}")
        out = {"layer_ids": layer_ids.pop()}
        for f in row_fields():
            values = [getattr(p, f.name) for p in parts]
            if f.name in NAN_FILLED and any(v is not None for v in values):
                values = [np.full(len(p), np.nan, np.float32) if v is None else v for p, v in zip(parts, values)]
            if f.name in MC_ONLY and any(v is not None for v in values):
                shape = next(v.shape[1:] for v in values if v is not None)
                values = [np.zeros((len(p),) + shape, np.float32) if v is None and not p.is_multiple_choice else v
                          for p, v in zip(parts, values)]
            if any(v is None for v in values):
                out[f.name] = None
            else:
                out[f.name] = np.concatenate(values, axis=0)
        return FeatureSet(**out)


def row_fields():
    """The per-row fields of a FeatureSet (all but `layer_ids`)."""
    return [f for f in fields(FeatureSet) if f.name != "layer_ids"]
