"""`vote`: several probes fitted on the same rows, their predictions averaged (an equal-weight soft vote).

P = sigmoid of the mean of the members' logits. Probes that read the same states through different fits — a
logistic on one layer (`linear`), ridge on one layer (`ridge`) or on its CV's best layers (`ridge_layers`), and
ridge fitted apart per task format (`by_format`) — make errors that are not the same, and with a few hundred
labelled questions per checkpoint each fit's choice of layer and shrinkage is noisy: averaging them lowers
that variance without fitting anything more (a stacker's weights would be one more noisy fit; `lens_ridge` is
the same idea for two fixed members). The default members were chosen on the real run's dev question set
(`benchmarks/real_dev_set.py`, new questions, never a demo question; the README's in-checkpoint section): in-
checkpoint mean AUROC over five fold seeds 0.721 against 0.706 for `by_format`, the best member, above it on
every seed. `members` and each member's parameters (`params`: name → {key: value}) are free; `inputs` is the
union of the members' (a pure hidden-state vote has pure hidden-state members), and predicting reads the union of
what they read (`members.MemberProbes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.probes.base import REGISTRY, Probe, make_probe, register
from probecast.probes.members import MemberProbes

MEMBERS = ("linear", "ridge", "ridge_layers", "by_format")


@dataclass
class VoteConfig:
    seed: int = 0
    members: list[str] = field(default_factory=lambda: list(MEMBERS))  # probe names, each at most once
    params: dict = field(default_factory=dict)  # member name -> its parameters (the member's defaults otherwise)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def soft_vote(probas: list[np.ndarray]) -> np.ndarray:
    """The vote of the members' P(success), in member order: sigmoid of the mean logit, clipped as any probe's."""
    z = np.mean([logit(p) for p in probas], axis=0)
    return np.clip(1.0 / (1.0 + np.exp(-z)), 0.0, 1.0)


@register("vote")
class VoteProbe(MemberProbes):
    Config = VoteConfig

    def __init__(self, config=None, **params) -> None:
        super().__init__(config, **params)
        members, extra = list(self.config.members), set(self.config.params) - set(self.config.members)
        bad = [m for m in members if m not in REGISTRY or m == "vote"]
        if not members or bad or len(set(members)) < len(members) or extra:
            raise ProbecastError(f"probe 'vote': members must be distinct probe names other than 'vote' (got "
                                 f"{members}; unknown {bad}) and params may name only members (extra {sorted(extra)})")

    def _member(self, name: str) -> Probe:
        return make_probe(name, **{**self.config.params.get(name, {}), "seed": self.config.seed})

    def inputs(self) -> list[str]:
        kinds = [k for m in self.member_probes().values() for k in m.inputs()]
        return list(dict.fromkeys(kinds))

    def members_among(self, probes: dict[str, Probe]) -> dict[str, Probe]:
        """Those of `probes` (name -> probe) that are members of this vote with the very parameters it gives them."""
        return {name: probes[name] for name, m in self.member_probes().items()
                if name in probes and probes[name].get_params() == m.get_params()}

    def reuse(self, fitted: dict[str, Probe]) -> "VoteProbe":
        """Take, at the next `fit`, its members among the fitted `fitted` (`members_among`) instead of fitting them
        again. The caller vouches that they were fitted on the rows this vote is about to be fitted on (an
        evaluation fitting every method on the same training rows)."""
        self.reused_ = {name: p for name, p in self.members_among(fitted).items() if p.fitted_}
        return self

    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        reused = getattr(self, "reused_", {})
        self.members_ = {name: reused[name] if name in reused else m.fit(X, y)
                         for name, m in self.member_probes().items()}
        self.reused_ = {}

    def member_probes(self) -> dict[str, Probe]:
        """name -> the unfitted member this vote fits (its parameters, the vote's seed), in member order."""
        return {name: self._member(name) for name in self.config.members}

    def _predict(self, X: FeatureSet) -> np.ndarray:
        return soft_vote([m.predict_proba(X) for m in self.members_.values()])
