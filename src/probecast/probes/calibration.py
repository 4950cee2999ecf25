"""Calibration helpers shared by the answer-log-likelihood baseline and the hybrid probe.

`LoglikCalibrator` maps the teacher-forced log-likelihood of the reference answer to P(success). For an
answer sampled at temperature 1 with a single accepted form, pass@1 *is* exp(loglik). Three gaps:
- listed paths (`Question.alternatives`: a scratchpad whose steps may come in any order): the reference is one
  of r valid paths. r_task = Σ exp(loglik over all paths) / Σ exp(loglik of the reference) is measured on the
  training rows from the features alone (`answer_loglik_paths`), and q = min(r·exp(loglik), 1) — so a new
  checkpoint needs only the reference scored. `use_paths=True` instead reads every row's own probability of
  some listed path (the log-sum-exp, `answer_loglik_paths`), which ranks multi-step questions better at the
  price of scoring every path on each new checkpoint (`Probe.needs_alternatives`);
- paths the task does not list (a lenient scorer, solutions in free form): pass@1 ≈ m·q with m >= 1 the
  effective number of further paths, a logit offset δ_task = log m >= 0 fitted on the labels;
- right final answers reached off every valid path (a guess from a small answer space, a wrong scratchpad that
  lands on the right number): a floor g_task that early, near-random checkpoints show clearly.
So p = g + (1 − g)·sigmoid(logit(q) + δ), with (g, δ) fitted per task on the training rows
(r = 1, g = δ = 0 gives exactly exp(loglik)). Multiple-choice tasks (`FeatureSet.multiple_choice`) are not
sampled: pass@1 is "the gold choice has the highest likelihood", so they keep a free offset δ and no floor.
Without the floor, early guesses get absorbed into δ, which then over-predicts every later checkpoint where
the model follows its paths (measured on the embedded run: task error 0.52 on the three-term sum). A task with no success in the training rows keeps g = δ = 0, the
likelihood at face value, and within a task p ranks exactly as the log-likelihood. Free slopes or an isotonic
map fitted on early checkpoints extrapolate worse, since later checkpoints live at log-likelihoods the early
ones never reached.

`stack_logistic`: the hybrid's stacker, a soft-target logistic on a few standardised columns with the
calibrated log-likelihood logit as an offset whose weight is shrunk towards 1.
"""

from __future__ import annotations

import json

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.probes.inputs import loglik_features

EPS = 1e-4


def stack_logistic(A: np.ndarray, offset: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, float]:
    """Soft-target logistic s = c·offset + A·w + b (A standardised) -> (w [k], b, c).

    The calibrated log-likelihood logit enters with its weight c shrunk towards 1 (L2 on c − 1, w and b):
    the other columns correct it only where they help on the training rows, and the calibration's
    extrapolation to later checkpoints (see `LoglikCalibrator`) is kept."""
    from scipy.optimize import minimize

    A = np.asarray(A, dtype=np.float64)
    offset = np.asarray(offset, dtype=np.float64)
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    n, k = A.shape
    prior = np.r_[np.zeros(k + 1), 1.0]  # w, b -> 0; c -> 1

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b, c = theta[:k], theta[k], theta[k + 1]
        s = c * offset + A @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(s, -50, 50)))
        g = (p - y) / n
        d = theta - prior
        val = np.mean(np.logaddexp(0.0, s) - y * s) + l2 * float(d @ d)
        return val, np.concatenate([A.T @ g, [g.sum(), g @ offset]]) + 2 * l2 * d

    res = minimize(loss, prior.copy(), jac=True, method="L-BFGS-B")
    return res.x[:k].copy(), float(res.x[k]), float(res.x[k + 1])


def _z(ll: np.ndarray) -> np.ndarray:
    """logit(exp(ll)) = ll − log(1 − exp(ll)), computed stably for ll <= 0."""
    ll = np.minimum(np.asarray(ll, dtype=np.float64), -1e-6)
    return ll - np.log(-np.expm1(ll))


def _encode(names: list[str]) -> np.ndarray:
    return np.frombuffer(json.dumps(names).encode(), dtype=np.uint8).copy()


def _decode(arr: np.ndarray) -> list[str]:
    return json.loads(bytes(np.asarray(arr, dtype=np.uint8)).decode())


def _fit_task(z: np.ndarray, y: np.ndarray, max_offset: float, max_floor: float,
              min_path_mass: float) -> tuple[float, float]:
    """(δ, g) minimising the soft cross-entropy of p = g + (1 − g)·sigmoid(z + δ) on one task's rows.

    δ is left at 0 unless the paths could account for at least `min_path_mass` successes (Σ sigmoid(z), in
    questions): before that, successes cannot tell extra paths from guesses on the easy questions, and a δ
    fitted to them multiplies every later checkpoint's likelihood. `min_path_mass=0`, `max_floor=0`: the
    plain offset fit (multiple choice)."""
    from scipy.optimize import minimize

    identifiable = float(np.sum(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))) >= min_path_mass
    max_offset = max_offset if identifiable else 0.0

    def loss(theta: np.ndarray) -> float:
        d, g = theta
        p = np.clip(g + (1.0 - g) / (1.0 + np.exp(-np.clip(z + d, -50, 50))), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))

    starts = ((0.0, 0.0), (0.0, min(max(float(y.mean()), 1e-4), max_floor)), (min(3.0, max_offset), 0.0))
    best = min((minimize(loss, np.array(x0), method="L-BFGS-B", bounds=[(0.0, max_offset), (0.0, max_floor)])
                for x0 in starts),
               key=lambda r: r.fun)
    d, g = best.x
    return (float(d) if d > 1e-3 else 0.0), (float(g) if g > 1e-5 else 0.0)


class LoglikCalibrator:
    def __init__(self, max_offset: float = 50.0, max_floor: float = 0.5, min_path_mass: float = 1.0,
                 use_paths: bool = False) -> None:
        self.max_offset = max_offset  # large enough for multiple-choice gold log-likelihoods (pass@1 = argmax)
        self.max_floor = max_floor
        self.min_path_mass = min_path_mass
        self.use_paths = use_paths

    def fit(self, X: FeatureSet, y: np.ndarray) -> "LoglikCalibrator":
        self._check_paths(X)
        tasks = X.task.astype(str)
        y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
        self.tasks_ = sorted(set(tasks))
        self.path_counts_ = np.array([_path_count(X, tasks == t) for t in self.tasks_])
        z = self._path_logit(X)
        mc = np.zeros(len(X), bool) if X.multiple_choice is None else np.asarray(X.multiple_choice, bool)
        fits = []
        for t in self.tasks_:
            rows = tasks == t
            sampled = not mc[rows].any()  # multiple choice: the plain offset fit, no floor, no path-mass gate
            fits.append(_fit_task(z[rows], y[rows], self.max_offset, self.max_floor if sampled else 0.0,
                                  self.min_path_mass if sampled else 0.0))
        self.offsets_ = np.array([d for d, _ in fits])
        self.floors_ = np.array([g for _, g in fits])
        return self

    def _per_task(self, X: FeatureSet, values: np.ndarray, default: float = 0.0) -> np.ndarray:
        known = dict(zip(self.tasks_, values))
        return np.array([known.get(t, default) for t in X.task.astype(str)], dtype=np.float64)

    def _path_logit(self, X: FeatureSet) -> np.ndarray:
        """logit(min(r·exp(loglik), 1)) of the reference path scaled by the task's listed path count r, or with
        `use_paths` logit(P(some listed path)) wherever the row has it scored."""
        ll = np.minimum(loglik_features(X)[:, 0], 0.0) + np.log(self._per_task(X, self.path_counts_, 1.0))
        if self.use_paths:
            paths = np.asarray(X.answer_loglik_paths, np.float64)
            ll = np.where(np.isfinite(paths), paths, ll)
        return _z(np.minimum(ll, 0.0))

    def _check_paths(self, X: FeatureSet) -> None:
        if self.use_paths and not has_listed_paths(X):
            raise ProbecastError("features have no answer_loglik_paths (every listed answer path scored), which a "
                                 "probe fitted with paths=true needs; extract them with `probecast extract` "
                                 "(listed paths are on by default) or fit without paths")

    def proba(self, X: FeatureSet) -> np.ndarray:
        self._check_paths(X)
        s = self._path_logit(X) + self._per_task(X, self.offsets_)
        g = self._per_task(X, self.floors_)
        return np.clip(g + (1.0 - g) / (1.0 + np.exp(-np.clip(s, -50, 50))), EPS, 1 - EPS)

    def logit(self, X: FeatureSet) -> np.ndarray:
        p = self.proba(X)
        return np.log(p) - np.log1p(-p)

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}offsets": self.offsets_, f"{prefix}floors": self.floors_,
                f"{prefix}path_counts": self.path_counts_, f"{prefix}tasks": _encode(self.tasks_),
                f"{prefix}use_paths": np.array([float(self.use_paths)])}

    @staticmethod
    def from_state(arrays: dict[str, np.ndarray], prefix: str) -> "LoglikCalibrator":
        c = LoglikCalibrator()
        c.offsets_, c.tasks_ = arrays[f"{prefix}offsets"], _decode(arrays[f"{prefix}tasks"])
        ones, zeros = np.ones(len(c.offsets_)), np.zeros(len(c.offsets_))  # probes saved before these existed
        c.floors_ = arrays.get(f"{prefix}floors", zeros)
        c.path_counts_ = arrays.get(f"{prefix}path_counts", ones)
        c.use_paths = bool(arrays.get(f"{prefix}use_paths", [0.0])[0])
        return c


def has_listed_paths(X: FeatureSet) -> bool:
    """Whether any row has its listed answer paths scored (`answer_loglik_paths`, NaN where not)."""
    return X.answer_loglik_paths is not None and bool(np.isfinite(X.answer_loglik_paths).any())


def _path_count(X: FeatureSet, rows: np.ndarray) -> float:
    """r = Σ P(any listed path) / Σ P(reference path) over a task's rows (1 without listed paths)."""
    if X.answer_loglik_paths is None or X.answer_loglik is None:
        return 1.0
    paths, ref = np.asarray(X.answer_loglik_paths, np.float64)[rows], np.asarray(X.answer_loglik, np.float64)[rows]
    ok = np.isfinite(paths) & np.isfinite(ref)
    if not ok.any():
        return 1.0
    from scipy.special import logsumexp

    return float(max(np.exp(logsumexp(paths[ok]) - logsumexp(ref[ok])), 1.0))
