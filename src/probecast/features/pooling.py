"""What the extraction pass keeps of each layer it reads: pooled as the layer is produced, then let go.

`Pooler` is the callback `layer_tap.tap_layers` (or the `output_hidden_states` fallback) hands each wanted
hidden_states index of one batch: it keeps the last prompt token, the mean over the prompt tokens, the mean over
the reference answer's tokens (weights from `answer_span`) and the last-T prompt tokens of the tail layer, never
the whole [rows, tokens, dim] state (except the one layer `shared_prefix` keeps). `others_mean` folds the other
choices' rows of a multiple-choice pass into one mean per question (`hidden_others`).
"""

from __future__ import annotations

import numpy as np
import torch


def answer_span(pl: torch.Tensor, lens: torch.Tensor, width: int) -> torch.Tensor:
    """[b, width] weights averaging each row's reference-answer tokens (the positions holding them, prompt
    length .. length − 1; zero for a row without answer tokens). Teacher-forced, so these states show how the
    checkpoint reads the right answer to the question; causal attention keeps the prompt's states unchanged."""
    t = torch.arange(width, device=pl.device)[None, :]
    span = ((t >= pl[:, None]) & (t < lens[:, None])).float()
    return span / span.sum(1, keepdim=True).clamp(min=1)


class Pooler:
    """Pools each wanted layer of one batch as the pass produces it: the last prompt token, the mean over the
    prompt tokens, the mean over the reference answer's tokens (`answer`: `answer_span` weights) and the
    last-T prompt tokens of the tail layer; keeps only those small results."""

    def __init__(self, layers: list[int], pl: torch.Tensor, mean: bool, tail_layer: int | None, T: int,
                 final_layer: int | None = None, keep: int | None = None, answer: torch.Tensor | None = None) -> None:
        self.pos = {l: j for j, l in enumerate(layers)}
        self.pl, self.rows, self.T, self.tail_layer = pl, torch.arange(len(pl), device=pl.device), T, tail_layer
        self.mean, self.final_layer, self.answer = mean, final_layer, answer
        self.last_out: dict[int, torch.Tensor] = {}
        self.mean_out: dict[int, torch.Tensor] = {}
        self.answer_out: dict[int, torch.Tensor] = {}
        self.tail_out: torch.Tensor | None = None
        self.final_out: torch.Tensor | None = None  # the last prompt token's final (normed) state, model dtype
        self.keep, self.kept = keep, None  # one layer's whole state, kept for `shared_prefix`

    def __call__(self, index: int, state: torch.Tensor) -> None:
        if index == self.keep:
            self.kept = state.detach().clone()
        if index == self.final_layer:
            self.final_out = state[self.rows, self.pl - 1]
        h = state.float()  # one layer at a time (a copy only when the model is not float32)
        if index in self.pos:
            self.last_out[index] = h[self.rows, self.pl - 1]
            if self.mean:
                pmask = (torch.arange(h.shape[1], device=h.device)[None, :] < self.pl[:, None]).float()  # [b, t]
                self.mean_out[index] = torch.einsum("btd,bt->bd", h, pmask) / self.pl[:, None]
            if self.answer is not None:
                self.answer_out[index] = torch.einsum("btd,bt->bd", h, self.answer)
        if index == self.tail_layer:  # last T prompt positions (clamped at 0; masked where the prompt is shorter)
            offs = self.pl[:, None] - self.T + torch.arange(self.T, device=h.device)[None, :]  # [b, T]
            self.tail_out = h[self.rows[:, None], offs.clamp(min=0)]

    def wanted(self, layers: list[int]) -> set[int]:
        return set(layers) | {l for l in (self.tail_layer, self.final_layer, self.keep) if l is not None}

    def shallow(self, depth: int) -> dict:
        """What was pooled from indices <= `depth` (a replay from `depth` cannot produce it again)."""
        return {"last": {i: t for i, t in self.last_out.items() if i <= depth},
                "mean": {i: t for i, t in self.mean_out.items() if i <= depth},
                "answer": {i: t for i, t in self.answer_out.items() if i <= depth},
                "tail": self.tail_out if self.tail_layer is not None and self.tail_layer <= depth else None}

    def inject(self, pooled: dict) -> None:
        self.last_out.update(pooled["last"])
        self.mean_out.update(pooled["mean"])
        self.answer_out.update(pooled["answer"])
        if pooled["tail"] is not None:
            self.tail_out = pooled["tail"]

    def stacked(self, which: dict[int, torch.Tensor]) -> np.ndarray:
        order = sorted(self.pos, key=self.pos.get)
        return torch.stack([which[l] for l in order], dim=1).cpu().numpy()  # [b, L, D]


def others_mean(answer: np.ndarray, n_questions: int, owner: list[int]) -> np.ndarray:
    """[n_questions, L, D]: per question, the mean of its other choices' pooled states (rows n_questions.. of
    `answer`, one per other choice, `owner` = their question), in `answer`'s dtype."""
    owner = np.asarray(owner)
    sums = np.zeros((n_questions,) + answer.shape[1:], np.float32)
    np.add.at(sums, owner, answer[n_questions:].astype(np.float32))
    counts = np.maximum(np.bincount(owner, minlength=n_questions), 1)
    return (sums / counts[:, None, None]).astype(answer.dtype)
