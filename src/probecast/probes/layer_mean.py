"""`ridge_layers`: the ridge probe on each of the k layers its grouped CV ranks best, outputs averaged.

`ridge` reads the one layer whose held-out within-task AUROC is best. With a few dozen labelled questions per
task (the real demo inside one checkpoint) that choice is itself noisy: neighbouring layers score within the CV's
noise of each other, and which one wins changes with the folds. Averaging the probes of the k best layers (each
with its own L2 strength, chosen as `ridge` chooses it) keeps what they agree on and averages out what one
layer's fit learnt from its rows' noise — bagging over the layer choice instead of over rows (Breiman, *Bagging
predictors*, 1996). The members' regression outputs (each a predicted pass@1, one scale) are averaged with equal
weights and the mean is Platt-scaled once on the training rows, as `ridge` scales its own output.
`top_layers = 1` is `ridge` itself. Chosen for the real demo's in-checkpoint protocol on its dev question set
(README, "Session 14"). `inputs` = `hidden`; predicting reads the k layers (early exit after the deepest).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.probes.base import Probe, register
from probecast.probes.linear import LinearConfig, RidgeProbe, layer_cv, platt_fit
from probecast.probes.torch_train import torch_threads


@dataclass
class LayerMeanConfig(LinearConfig):
    kind: str = "ridge"
    top_layers: int = 5  # how many of the best-ranked layers are averaged


@register("ridge_layers")
class LayerMeanProbe(Probe):
    Config = LayerMeanConfig
    input_kinds = ("hidden",)

    def _member(self, layer: int, l2: float) -> RidgeProbe:
        fields = {k: v for k, v in asdict(self.config).items() if k in LinearConfig.__dataclass_fields__}
        return RidgeProbe(LinearConfig(**{**fields, "layer": layer, "l2_grid": [l2]}))

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        cfg = self.config
        if cfg.kind != "ridge" or cfg.top_layers < 1 or cfg.layer is not None or cfg.task_intercepts is not False:
            raise ProbecastError("ridge_layers: kind must be ridge and top_layers ≥ 1, with layer unset and "
                                 f"task_intercepts false (got kind={cfg.kind}, top_layers={cfg.top_layers}, "
                                 f"layer={cfg.layer}, task_intercepts={cfg.task_intercepts})")
        crit, own = layer_cv(X, y, cfg, self.step_scale_)
        ranked = np.argsort(np.where(np.isnan(crit), np.inf, crit).min(axis=0), kind="stable")
        # each member's L2 as `ridge` picks it at its layer: the best held-out loss
        self.members_ = [self._member(int(layer), float(cfg.l2_grid[int(np.argmin(own[:, layer]))])).fit(X, y)
                         for layer in ranked[: cfg.top_layers]]
        with torch_threads(cfg.threads):
            self.platt_ = platt_fit(self._raw(X), y, cfg.max_iter)

    def _raw(self, X: FeatureSet) -> np.ndarray:
        return np.mean([m.raw_output(X) for m in self.members_], axis=0)

    def decision_function(self, X: FeatureSet) -> np.ndarray:
        """The Platt-scaled mean of the members' regression outputs (predicted pass@1, one scale for all)."""
        return self.platt_[0] * self._raw(X) + self.platt_[1]

    def _predict(self, X: FeatureSet) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def reads(self) -> FeatureReads:
        return FeatureReads(layers=tuple(sorted(m.layer_ for m in self.members_)), pooling=self.config.pooling)

    def _get_state(self):
        arrays, extras = {}, []
        for i, m in enumerate(self.members_):
            a, e = m._get_state()
            arrays.update({f"m{i}.{k}": v for k, v in a.items()})
            extras.append(e)
        return {**arrays, "platt": self.platt_}, {"members": extras, "step_scale": self.step_scale_}

    def _set_state(self, arrays, extra) -> None:
        self.platt_, self.members_ = arrays["platt"], []
        for i, e in enumerate(extra["members"]):
            m = self._member(int(e["layer"]), float(e["l2"]))
            m._set_state({k[len(f"m{i}."):]: v for k, v in arrays.items() if k.startswith(f"m{i}.")}, e)
            m.fitted_, m.hidden_shape_, m.step_scale_ = True, None, extra["step_scale"]
            self.members_.append(m)
