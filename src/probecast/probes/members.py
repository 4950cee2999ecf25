"""A probe made of member probes (`by_format`, `vote`): what it reads and how it is saved, written once.

A subclass builds a member from its name (`_member`) and keeps the fitted ones in `members_` (name → probe);
this base gives it `reads` (the union of the members', `plan.union_reads`) and the state: every member's arrays
under `<name>.` and its JSON extras under `members`, so a saved composite loads into the same members.
"""

from __future__ import annotations

from probecast.features.plan import FeatureReads, union_reads
from probecast.probes.base import Probe


class MemberProbes(Probe):
    members_: dict

    def _member(self, name: str) -> Probe:
        raise NotImplementedError

    def reads(self) -> FeatureReads:
        return union_reads([m.reads() for m in self.members_.values()])

    def _get_state(self):
        arrays, extras = {}, {}
        for name, m in self.members_.items():
            a, e = m._get_state()
            arrays.update({f"{name}.{k}": v for k, v in a.items()})
            extras[name] = {"state": e, "hidden_shape": m.hidden_shape_, "step_scale": m.step_scale_}
        return arrays, {"members": extras}

    def _set_state(self, arrays, extra) -> None:
        self.members_ = {}
        for name, e in extra["members"].items():
            m = self._member(name)
            m._set_state({k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(f"{name}.")}, e["state"])
            m.fitted_, m.hidden_shape_, m.step_scale_ = True, e["hidden_shape"], e["step_scale"]
            m.reads_ = m.reads()
            self.members_[name] = m
        self.fitted_ = True
        self.reads_ = self.reads()
