"""Attention-pooling probes: a learned query attends over a short sequence of hidden states.

- `attn_layers`: the tokens are the layers (last-token or mean-pooled state of every layer), each with a
  learned layer embedding, so the probe learns *which depth* carries the success signal instead of picking
  one layer by CV, and can mix several.
- `attn_tokens`: the tokens are the last T prompt positions at the extracted layer (`FeatureSet.tail`),
  masked where the prompt was shorter, so the probe can read the state of e.g. the question's last number
  rather than the final newline.
Both: project to `hidden`, add a position embedding, one learned query (scaled dot product), softmax over
tokens, weighted sum, then a linear head (plus the progress feature). Cf. attention-pooling probes in
"Attention-based probes" (e.g. Shportko et al.) and arXiv 2604.01025.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.inputs import Standardizer, hidden_block, progress_column, question_groups
from probecast.probes.torch_train import (TrainConfig, load_numpy_state, predict_logits, state_to_numpy,
                                          train_soft_bce)


class AttentionPool(nn.Module):
    def __init__(self, d_in: int, n_tokens: int, hidden: int, n_extra: int, dropout: float) -> None:
        super().__init__()
        self.proj = nn.Linear(d_in, hidden)
        self.pos = nn.Parameter(torch.zeros(n_tokens, hidden))
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.query = nn.Parameter(torch.randn(hidden) / math.sqrt(hidden))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden + n_extra, 1)

    def weights(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.proj(self.drop(x)) + self.pos  # [b, T, H]
        scores = self.key(h) @ self.query / math.sqrt(h.shape[-1])  # [b, T]
        scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1), h

    def forward(self, x: torch.Tensor, mask: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        a, h = self.weights(x, mask)
        pooled = torch.nn.functional.gelu((a.unsqueeze(-1) * h).sum(1))
        return self.head(torch.cat([self.drop(pooled), extra], dim=-1)).squeeze(-1)


@dataclass
class AttentionConfig(ProbeConfig, TrainConfig):
    pooling: str = "last"  # attn_layers only: which per-layer state is a token
    hidden: int = 64
    dropout: float = 0.1
    include_progress: bool = False  # extrapolates badly past the training checkpoints (README)


class _AttentionProbe(Probe):
    """Shared fit/predict/save; subclasses say what the tokens are (`_tokens` -> x [n, T, d], mask [n, T])."""

    Config = AttentionConfig

    def _tokens(self, X: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _inputs(self, X: FeatureSet) -> list[np.ndarray]:
        x, mask = self._tokens(X)
        extra = progress_column(X, self.step_scale_)[:, None] if self.config.include_progress else np.zeros((len(X), 0), np.float32)
        return [self.scaler_.transform(x) * mask[..., None], mask, extra.astype(np.float32)]

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        cfg = self.config
        x, mask = self._tokens(X)
        # standardise each (token, dim) over the rows where that token exists
        w = mask[..., None].astype(np.float64)
        count = np.maximum(w.sum(0), 1.0)
        mean = (x * w).sum(0) / count
        std = np.sqrt((((x - mean) ** 2) * w).sum(0) / count)
        self.scaler_ = Standardizer(mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32))
        make = lambda: AttentionPool(x.shape[2], x.shape[1], cfg.hidden, int(cfg.include_progress), cfg.dropout)  # noqa: E731
        self.net_, self.train_info_ = train_soft_bce(make, self._inputs(X), y, question_groups(X), cfg, cfg.seed,
                                                     X.step, X.task)

    def _predict(self, X: FeatureSet) -> np.ndarray:
        z = predict_logits(self.net_, self._inputs(X), self.config.threads)
        return 1.0 / (1.0 + np.exp(-z))

    @torch.no_grad()
    def attention(self, X: FeatureSet) -> np.ndarray:
        """[n, T] attention weights over the tokens (layers or tail positions), for inspection."""
        x, mask, _ = self._inputs(X)
        a, _ = self.net_.weights(torch.from_numpy(x), torch.from_numpy(mask))
        return a.numpy()

    def _get_state(self):
        return {**state_to_numpy(self.net_), **self.scaler_.state("scaler_")}, {}

    def _set_state(self, arrays, extra) -> None:
        self.scaler_ = Standardizer.from_state(arrays, "scaler_")
        n_tokens, d = self.scaler_.mean.shape
        cfg = self.config
        self.net_ = AttentionPool(d, n_tokens, cfg.hidden, int(cfg.include_progress), cfg.dropout)
        load_numpy_state(self.net_, arrays)


@register("attn_layers")
class LayerAttentionProbe(_AttentionProbe):
    def _tokens(self, X):
        x = hidden_block(X, self.config.pooling)
        return x, np.ones(x.shape[:2], dtype=bool)


@register("attn_tokens")
class TokenAttentionProbe(_AttentionProbe):
    def reads(self) -> FeatureReads:
        return FeatureReads(layers=(), tail=True)

    def _tokens(self, X):
        if X.tail is None:
            raise ProbecastError("features: attn_tokens needs the last-T prompt-token states (FeatureSet.tail); "
                                 "re-extract with a tail length (probecast extract --tail-tokens T)")
        mask = np.ones(X.tail.shape[:2], bool) if X.tail_mask is None else X.tail_mask.astype(bool)
        if not mask.any(axis=1).all():
            raise ProbecastError("features: some rows have an all-False tail_mask (no prompt tokens)")
        return np.asarray(X.tail, dtype=np.float32), mask
