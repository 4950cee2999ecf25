"""MLP probe: a one-hidden-layer network on the pooled hidden state of chosen layers.

Why: the success signal need not be linear in the residual stream (e.g. when a checkpoint's representation
drifts). `layers="cv"` reuses the linear probe's grouped-CV layer choice, so the MLP only adds capacity,
not a second search; "all" concatenates every layer (many more inputs, use with more data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, ProbeConfig, register
from probecast.probes.inputs import Standardizer, hidden_block, progress_column, question_groups
from probecast.probes.linear import LinearConfig, select_layer
from probecast.probes.torch_train import (TrainConfig, load_numpy_state, predict_logits, state_to_numpy,
                                          train_soft_bce)


@dataclass
class MLPConfig(ProbeConfig, TrainConfig):
    pooling: str = "last"
    layers: str | list[int] = "cv"  # "cv" | "all" | explicit list of layer indices
    hidden: int = 128
    dropout: float = 0.2
    include_progress: bool = False  # extrapolates badly past the training checkpoints (README)


class _MLP(nn.Module):
    def __init__(self, d_in: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


@register("mlp")
class MLPProbe(Probe):
    Config = MLPConfig

    def _inputs(self, X: FeatureSet) -> np.ndarray:
        H = hidden_block(X, self.config.pooling, self.layers_).reshape(len(X), -1)
        if self.config.include_progress:
            H = np.concatenate([H, progress_column(X, self.step_scale_)[:, None]], axis=1)
        return H

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        cfg = self.config
        if cfg.layers == "cv":
            layer, _, _ = select_layer(X, y, LinearConfig(pooling=cfg.pooling, seed=cfg.seed, threads=cfg.threads))
            self.layers_ = [layer]
        elif cfg.layers == "all":
            self.layers_ = list(range(X.n_layers))
        elif isinstance(cfg.layers, (list, tuple)) and cfg.layers:
            self.layers_ = [int(i) for i in cfg.layers]
        else:
            raise ProbecastError(f"mlp probe: layers must be 'cv', 'all' or a list of indices, got {cfg.layers!r}")
        A = self._inputs(X)
        self.scaler_ = Standardizer().fit(A)
        self.net_, self.train_info_ = train_soft_bce(lambda: _MLP(A.shape[1], cfg.hidden, cfg.dropout),
                                                     [self.scaler_.transform(A)], y, question_groups(X), cfg,
                                                     cfg.seed, X.step, X.task)

    def _predict(self, X: FeatureSet) -> np.ndarray:
        z = predict_logits(self.net_, [self.scaler_.transform(self._inputs(X))], self.config.threads)
        return 1.0 / (1.0 + np.exp(-z))

    def reads(self) -> FeatureReads:
        return FeatureReads(layers=tuple(self.layers_), pooling=self.config.pooling)

    def _get_state(self):
        return {**state_to_numpy(self.net_), **self.scaler_.state("scaler_")}, {"layers": self.layers_}

    def _set_state(self, arrays, extra) -> None:
        self.layers_ = [int(i) for i in extra["layers"]]
        self.scaler_ = Standardizer.from_state(arrays, "scaler_")
        self.net_ = _MLP(self.scaler_.mean.shape[0], self.config.hidden, self.config.dropout)
        load_numpy_state(self.net_, arrays)
