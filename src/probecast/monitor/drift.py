"""Is the probe drifting? A two-sided CUSUM on the audit residuals, one per task, across checkpoints.

Each audit of a task gives the rectifier r̄ = mean(label − prediction) over its n audited questions and its
standard error s (`evaluation/ppi.py`). Standardised, z = r̄ / max(s, floor) is ≈ N(0, 1) while the probe
is calibrated at the new checkpoint and drifts away from 0 when it is not. Page's CUSUM (Page, Biometrika
1954) accumulates the evidence in both directions with the textbook reference value k = 0.5 and decision
interval h = 4 (Montgomery, Introduction to Statistical Quality Control, §9.1: about 1 false alarm in 168
in-control audits per side; a 1.5-sd bias is caught after 3 audits on average):

    S⁺ ← max(0, S⁺ + z − k)   (probe too low)      S⁻ ← max(0, S⁻ − z − k)   (probe too high)

Drift is declared when max(S⁺, S⁻) > h for any task; after a refit every statistic restarts at 0 (the new
probe is a new process). The state is plain JSON so a restarted watcher continues the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DriftConfig:
    k: float = 0.5  # reference value (sd units): shifts below k are not accumulated
    h: float = 4.0  # decision interval (sd units)
    se_floor: float = 0.02  # an audit whose residuals are all equal still counts as a noisy measurement


@dataclass
class CusumState:
    upper: dict[str, float] = field(default_factory=dict)  # task -> S⁺
    lower: dict[str, float] = field(default_factory=dict)  # task -> S⁻
    audits: int = 0

    def to_dict(self) -> dict:
        return {"upper": dict(self.upper), "lower": dict(self.lower), "audits": self.audits}

    @classmethod
    def from_dict(cls, d: dict | None) -> "CusumState":
        d = d or {}
        return cls(dict(d.get("upper", {})), dict(d.get("lower", {})), int(d.get("audits", 0)))


class CusumDrift:
    """Feed it each audited checkpoint's per-task rectifiers; `update` says whether drift is declared."""

    def __init__(self, cfg: DriftConfig | None = None, state: CusumState | None = None) -> None:
        self.cfg = cfg or DriftConfig()
        self.state = state or CusumState()

    def z(self, rectifier: float, se: float) -> float:
        return float(rectifier) / max(float(se), self.cfg.se_floor)

    def update(self, residuals: dict[str, tuple[float, float]]) -> list[str]:
        """`residuals`: {task: (mean label − prediction, its standard error)} of one audited checkpoint.
        Returns the tasks whose CUSUM crossed h (empty: no drift)."""
        k, h = self.cfg.k, self.cfg.h
        fired = []
        for task, (r, se) in residuals.items():
            z = self.z(r, se)
            up = max(0.0, self.state.upper.get(task, 0.0) + z - k)
            lo = max(0.0, self.state.lower.get(task, 0.0) - z - k)
            self.state.upper[task], self.state.lower[task] = up, lo
            if max(up, lo) > h:
                fired.append(task)
        self.state.audits += 1
        return fired

    def statistic(self, task: str) -> float:
        return max(self.state.upper.get(task, 0.0), self.state.lower.get(task, 0.0))

    def reset(self) -> None:
        self.state = CusumState()
