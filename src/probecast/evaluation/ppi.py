"""Prediction-powered task scores: the probe on every question + real labels on a random audit subset.

A task score is the mean pass@1 over a task's N questions. The probe gives P(success) f_i for all N; a real
generative audit gives the pass@1 y_j of n questions drawn uniformly at random. PPI++ (Angelopoulos, Duchi,
Zrnic, arXiv 2311.01453; PPI: Angelopoulos et al., Science 2023) estimates the mean as

    θ̂(λ) = λ · mean_N(f) + mean_n(y − λ f)

which is unbiased for every λ whatever the probe's bias (the audit's rectifier mean_n(y − λ f) removes it),
with the CLT interval θ̂ ± z · sqrt(λ² var_N(f)/N + var_n(y − λ f)/n). The power-tuning weight λ ∈ [0, 1] is
estimated to minimise that variance (λ = 1: plain PPI; λ = 0: the classical labels-only interval, which is
where a useless probe ends up). `effective_labels` = var(y) / se²: how many labels alone would give the same
width. All the arithmetic is `ppi_py`'s (the authors' package); this module is the one place that calls it.

`required_labels` is the budget rule behind `--audit <half-width>` (see `label_until`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from probecast.errors import ProbecastError

DEFAULT_LEVEL = 0.90


@dataclass(frozen=True)
class PPIEstimate:
    estimate: float  # PPI++ estimate of the task score
    lo: float
    hi: float
    level: float
    lam: float  # power-tuning weight (0 = labels only, 1 = plain PPI)
    n_labels: int  # audited questions
    n_questions: int  # questions with a prediction
    effective_labels: float  # labels alone needed for the same interval width
    classical: float  # labels-only mean
    classical_lo: float
    classical_hi: float
    rectifier: float  # mean(y − f) on the audit: the probe's bias at this checkpoint (negative = too high)
    rectifier_se: float

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2

    def record(self, prefix: str = "ppi_") -> dict:
        """Flat JSON-able fields for logs and tables (prefix `ppi_`)."""
        return {f"{prefix}{k}": (float(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _check(name: str, a, n_min: int) -> np.ndarray:
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    if len(x) < n_min:
        raise ProbecastError(f"{name}: {len(x)} value(s); PPI needs at least {n_min}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise ProbecastError(f"{name}: values must be finite probabilities in [0, 1]")
    return x


def _ppi():
    try:
        import ppi_py
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ProbecastError("PPI needs the `ppi-python` package: pip install 'probecast[ppi]'") from exc
    return ppi_py


def tuned_lambda(y: np.ndarray, f_audit: np.ndarray, f_all: np.ndarray) -> float:
    """PPI++ power tuning for a mean (ppi_py's `_calc_lam_glm`, clipped to [0, 1]); 0 when f is constant."""
    if np.ptp(np.concatenate([f_audit, f_all])) == 0:
        return 0.0
    from ppi_py.ppi import _calc_lam_glm

    _ppi()
    theta = float(f_all.mean() + (y - f_audit).mean())
    lam = _calc_lam_glm((y - theta)[:, None], (f_audit - theta)[:, None], (f_all - theta)[:, None], np.eye(1),
                        clip=True)
    return float(np.clip(lam, 0.0, 1.0))


def ppi_mean(p_all, y_audit, p_audit, level: float = DEFAULT_LEVEL, lam: float | None = None) -> PPIEstimate:
    """PPI++ estimate and interval of mean(y) over all questions. `p_all`: P(success) of every question (the
    audited ones included); `y_audit`, `p_audit`: label and prediction of each audited question; `lam`: None
    = power-tuned, or a fixed weight in [0, 1]."""
    if not 0 < level < 1:
        raise ProbecastError(f"level {level}: must be in (0, 1), e.g. 0.9")
    f_all = _check("predictions", p_all, 2)
    y = _check("audit labels", y_audit, 2)
    f = _check("audit predictions", p_audit, 2)
    if len(y) != len(f):
        raise ProbecastError(f"audit: {len(y)} labels but {len(f)} predictions")
    ppi_py = _ppi()
    lam = tuned_lambda(y, f, f_all) if lam is None else float(lam)
    alpha = 1 - level
    est = float(np.squeeze(ppi_py.ppi_mean_pointestimate(y, f, f_all, lam=lam)))
    lo, hi = (float(np.squeeze(v)) for v in ppi_py.ppi_mean_ci(y, f, f_all, alpha=alpha, lam=lam))
    c_lo, c_hi = (float(np.squeeze(v)) for v in ppi_py.classical_mean_ci(y, alpha=alpha))
    z = NormalDist().inv_cdf(1 - alpha / 2)
    se = (hi - lo) / (2 * z)
    var_y = float(np.var(y))
    n_eff = float(len(y)) if se <= 0 else var_y / se ** 2
    r = y - f
    return PPIEstimate(estimate=est, lo=lo, hi=hi, level=level, lam=lam, n_labels=len(y), n_questions=len(f_all),
                       effective_labels=n_eff, classical=float(y.mean()), classical_lo=c_lo, classical_hi=c_hi,
                       rectifier=float(r.mean()), rectifier_se=float(r.std() / np.sqrt(len(r))))


# ---- budgeting: label just enough questions ------------------------------------------------------------------
@dataclass(frozen=True)
class AuditBudget:
    """`--audit N` (a number of questions) or `--audit 0.05` (a target half-width of the PPI interval)."""
    questions: int | None = None  # fixed audit size
    half_width: float | None = None  # target half-width: label in rounds until the interval is this narrow
    pilot: int = 16  # first round (and the minimum) with a target half-width
    round_size: int = 8  # questions per later round
    max_questions: int | None = None  # cap with a target (None: every question of the task)

    @classmethod
    def parse(cls, value: str | int | float, option: str = "--audit") -> "AuditBudget":
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = float("nan")
        if x >= 2 and x == int(x):
            return cls(questions=int(x))
        if 0 < x < 1:
            return cls(half_width=x)
        raise ProbecastError(f"{option} {value!r}: give a number of questions (an integer >= 2, e.g. 32) or a "
                             f"target interval half-width in (0, 1) (e.g. 0.05)")

    def next_size(self, done: int, total: int, current: PPIEstimate | None) -> int:
        """How many questions should be labelled in all after `done` (== done: stop)."""
        cap = min(total, self.max_questions or total)
        if self.questions is not None:
            return min(max(self.questions, 2), total)
        if done < self.pilot:
            return min(self.pilot, cap)
        if current is None or current.half_width <= self.half_width:
            return done
        return min(done + self.round_size, cap)


def label_until(budget: AuditBudget, p_all: np.ndarray, label_fn, order: np.ndarray,
                level: float = DEFAULT_LEVEL) -> tuple[PPIEstimate, np.ndarray, np.ndarray]:
    """Label questions in the random `order` (a permutation of range(N)) until `budget` says stop.

    `label_fn(indices) -> pass@1 array` labels the given questions. With a target half-width this is the
    fixed-width sequential rule of Chow & Robbins (1965): stop at the first n >= pilot whose PPI interval is
    at most the target (checked after every round). The stopping time depends on the data only through the
    estimated variance, not through the estimate, and the interval stays asymptotically valid as the target
    shrinks; at small n it can undercover slightly, which `benchmarks/ppi_coverage.py` measures (its
    `budget` rows). Returns (estimate, labelled indices, their labels).
    """
    p_all = np.asarray(p_all, dtype=float)
    idx = np.zeros(0, dtype=int)
    y = np.zeros(0, dtype=float)
    est = None
    while True:
        want = budget.next_size(len(idx), len(p_all), est)
        if want <= len(idx):
            break
        new = np.asarray(order[len(idx):want], dtype=int)
        idx = np.concatenate([idx, new])
        y = np.concatenate([y, np.asarray(label_fn(new), dtype=float)])
        est = ppi_mean(p_all, y, p_all[idx], level=level)
        if budget.questions is not None:
            break
    return est, idx, y
