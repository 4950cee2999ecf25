"""Prediction-powered task scores: the probe on every question + real labels on a random audit subset.

A task score is the mean pass@1 over a task's N questions. The probe gives P(success) f_i for all N; a real
generative audit gives the pass@1 y_j of n questions drawn uniformly at random. PPI++ (Angelopoulos, Duchi,
Zrnic, arXiv 2311.01453; PPI: Angelopoulos et al., Science 2023) estimates the mean as

    θ̂(λ) = λ · mean_N(f) + mean_n(y − λ f)

which is unbiased for every λ whatever the probe's bias (the audit's rectifier mean_n(y − λ f) removes it).
Two intervals (`INTERVALS`):

- `finite` (default): the estimand is the score full labelling would give on *these* N questions, and the
  audit is a simple random sample of them without replacement, so θ̂ is the survey-sampling difference
  estimator (Cochran 1977 §7; Särndal, Swensson & Wretman 1992 §6.3): mean_N(f) is known exactly (no
  variance), and var(θ̂) = (1 − n/N) · S²(y − λf) / n. At small n the audited labels are often all equal
  (a task near 0 or 1) and a plug-in S² collapses to ~0; S² is therefore computed on the audit augmented
  with z²/2 pseudo-successes and z²/2 pseudo-failures predicted at mean_N(f), the Agresti–Coull pseudo-counts
  (Agresti & Coull, Am. Stat. 1998): with λ = 0, binary labels and N → ∞ the half-width is exactly the
  Agresti–Coull one. The error is the difference of the audited and the unaudited mean, so the safeguard is
  applied to each for its own size (n and N − n; Agresti & Caffo 2000, `finite_se`). The interval stays
  centred on the unbiased θ̂ and is clipped to [0, 1]. λ = cov_n(y, f) / var_N(f) (the regression coefficient
  minimising S²(y − λf)), clipped to [0, 1].
- `clt`: `ppi_py`'s superpopulation CLT interval θ̂ ± z·sqrt(λ² var_N(f)/N + var_n(y − λf)/n) with its
  PPI++ power tuning (the authors' package, called here and nowhere else). It treats the N predictions as a
  sample too (a variance term the finite estimand does not have) and undercovers when the audit's labels
  agree by chance (`benchmarks/ppi_coverage.py` measures both).

λ = 0 is the labels-only estimate, which is where a useless probe ends up; the `classical_*` fields are that
interval with the same treatment. `effective_labels` = (labels-only variance) / (PPI variance) · n: how many
labels alone would give the same width.

`AuditBudget` and `label_until` are the budget rule behind `--audit <half-width>`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from probecast.errors import ProbecastError

DEFAULT_LEVEL = 0.90
INTERVALS = ("finite", "clt")  # module doc; `finite` is the default


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


def regression_lambda(y: np.ndarray, f_audit: np.ndarray, f_all: np.ndarray) -> float:
    """λ minimising S²(y − λf) for the finite-population interval: cov_n(y, f) / var_N(f), clipped to [0, 1]."""
    var_f = float(np.var(f_all))
    if var_f == 0 or np.ptp(f_audit) == 0:
        return 0.0
    cov = float(np.mean((y - y.mean()) * (f_audit - f_audit.mean())))
    return float(np.clip(cov / var_f, 0.0, 1.0))


def finite_se(y: np.ndarray, f_audit: np.ndarray, f_all: np.ndarray, lam: float, z: float,
              pseudo: bool = True, pseudo_at: tuple | None = None) -> float:
    """Standard error of θ̂(λ) for the mean over the N questions, the audit a simple random sample of them.

    θ̂ − θ = (1 − n/N) · (mean of the n audited r − mean of the N − n unaudited r), r = y − λf, so
    var(θ̂) = (1 − n/N)² · (S²/n + S²/(N − n)) = (1 − n/N) · S²/n, S² estimated on the audit. With `pseudo`, each
    group's term gets the small-sample safeguard for a mean of its own size k (k = n, then k = N − n): S² over
    the audit plus z²/2 pseudo-labels 1 and z²/2 pseudo-labels 0 predicted at mean_N(f), carrying z²/(k + z²) of
    the weight (Agresti–Coull counts, applied per group as Agresti & Caffo 2000 do for a difference of two
    proportions): the unaudited mean is as skewed a mean of N − n questions as the audit's is of n, and where
    N − n is small (most of a task audited) its rare large residuals are what the normal interval misses. The
    audited term is over n + z² (Agresti–Coull: the pseudo-labels count as audited), the unaudited one over
    N − n (there the pseudo-labels only temper the variance; those questions are N − n, no more).
    `pseudo_at`: (prediction of the pseudo-success, of the pseudo-failure) instead of mean_N(f) for both, each a
    number or several sharing its weight evenly (diagnostics of `benchmarks/ppi_ceiling.py` and
    `ppi_safeguards.py`; see `calibrated_pseudo_predictions`)."""
    n, N = len(y), len(f_all)
    if n >= N:
        return 0.0
    r = y - lam * f_audit
    m = z * z / 2 if pseudo else 0.0
    f1, f0 = (np.atleast_1d(np.asarray(f, dtype=np.float64))
              for f in (pseudo_at if pseudo_at is not None else (f_all.mean(), f_all.mean())))
    x = np.concatenate([r, 1 - lam * f1, -lam * f0])
    pseudo_w = np.concatenate([np.full(len(f1), m / len(f1)), np.full(len(f0), m / len(f0))])

    def s2(k: int) -> float:  # S² for a mean of k questions, the safeguard weighing z²/(k + z²)
        w = np.concatenate([np.full(n, k / n), pseudo_w])
        mean = float(np.sum(w * x) / w.sum())
        return float(np.sum(w * (x - mean) ** 2) / w.sum())

    return float((1 - n / N) * np.sqrt(s2(n) / (n + 2 * m) + s2(N - n) / (N - n)))


def calibrated_pseudo_predictions(f_all: np.ndarray) -> tuple[float, float]:
    """Where a success and a failure would sit among the predictions if the probe were calibrated:
    E[f | y = 1] = E[f²] / E[f] and E[f | y = 0] = E[f(1 − f)] / E[1 − f] over the N predictions."""
    m = float(f_all.mean())
    f1 = float(np.mean(f_all ** 2) / m) if m > 0 else 0.0
    f0 = float(np.mean(f_all * (1 - f_all)) / (1 - m)) if m < 1 else 1.0
    return f1, f0


def ppi_mean(p_all, y_audit, p_audit, level: float = DEFAULT_LEVEL, lam: float | None = None,
             interval: str = "finite") -> PPIEstimate:
    """PPI estimate and interval of mean(y) over all questions. `p_all`: P(success) of every question (the
    audited ones included); `y_audit`, `p_audit`: label and prediction of each audited question; `lam`: None
    = tuned (see `interval`), or a fixed weight in [0, 1]; `interval`: one of `INTERVALS` (module doc)."""
    if not 0 < level < 1:
        raise ProbecastError(f"level {level}: must be in (0, 1), e.g. 0.9")
    if interval not in INTERVALS:
        raise ProbecastError(f"interval {interval!r}: choose one of {', '.join(INTERVALS)}")
    f_all = _check("predictions", p_all, 2)
    y = _check("audit labels", y_audit, 2)
    f = _check("audit predictions", p_audit, 2)
    if len(y) != len(f):
        raise ProbecastError(f"audit: {len(y)} labels but {len(f)} predictions")
    if len(y) > len(f_all):
        raise ProbecastError(f"audit: {len(y)} labels but only {len(f_all)} questions")
    alpha = 1 - level
    z = NormalDist().inv_cdf(1 - alpha / 2)
    if interval == "clt":
        ppi_py = _ppi()
        lam = tuned_lambda(y, f, f_all) if lam is None else float(lam)
        est = float(np.squeeze(ppi_py.ppi_mean_pointestimate(y, f, f_all, lam=lam)))
        lo, hi = (float(np.squeeze(v)) for v in ppi_py.ppi_mean_ci(y, f, f_all, alpha=alpha, lam=lam))
        c_lo, c_hi = (float(np.squeeze(v)) for v in ppi_py.classical_mean_ci(y, alpha=alpha))
        se, se0 = (hi - lo) / (2 * z), (c_hi - c_lo) / (2 * z)
    else:
        lam = regression_lambda(y, f, f_all) if lam is None else float(lam)
        est = float(lam * f_all.mean() + (y - lam * f).mean())
        se, se0 = finite_se(y, f, f_all, lam, z), finite_se(y, f, f_all, 0.0, z)
        lo, hi = max(est - z * se, 0.0), min(est + z * se, 1.0)
        c_lo, c_hi = max(y.mean() - z * se0, 0.0), min(y.mean() + z * se0, 1.0)
    n_eff = float(len(y)) if se <= 0 else len(y) * se0 ** 2 / se ** 2
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
        if 2 <= x < float("inf") and x == int(x):
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
