"""Trajectory extrapolation: forecast a run's later checkpoints from its own early ones.

Fit the task score against training tokens (or FLOPs, or steps) on the checkpoints up to a token cut-off and
predict every later checkpoint. Forms:
- `power`: saturating power law y = c - a (D / 1e11)^(-b), on checkpoints past the emergent phase;
- `sigmoid`: sigmoid of log tokens, y = lo + (hi - lo) sigmoid(k (ln D - m)), on all checkpoints;
- `pooled`: one law over every run of the table (model sizes N) up to the same cut-off: the score is a
  sigmoid of a ladder-style pseudo-loss u = a_N (N / 1e9)^(-alpha) + a_D (D / 1e11)^(-beta), floored at chance,
  y = chance + (hi - chance) sigmoid(u0 - u). Larger models late in training share information with this run;
- baselines `last` (the last fitted value) and `loglinear` (least squares line in ln D).
Against a loss (`x="loss/<set>"` or `"bpb/<task>"`): the score as a sigmoid (`sigmoid`) or a line (`linear`) of
the run's own loss, forecasting a later checkpoint from its measured loss (cheap to evaluate, unlike the task).
Intervals: bootstrap refits (rows, or whole runs for `pooled`) plus the residual spread, widened in quadrature by a
measured extrapolation error (`backtest.Backtest`): on every run of the table, the form fitted on the first half
of the fit window (checkpoints up to half its last step) forecasts the window's last checkpoint; those errors,
scaled to how far (in log x) the query lies beyond the data, give the extra spread. Each run has its own
backtest, and the runs share the cut-off, so they measure the same form error on the same horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from probecast.errors import ProbecastError
from probecast.forecast.backtest import Backtest
from probecast.forecast.base import Forecast, Forecaster, Query, register_forecaster
from probecast.forecast.choices import FORMS, LOSS_FORMS
from probecast.forecast.fitting import FitResult, predict_with_interval
from probecast.forecast.laws import LINEAR, LOG_LINEAR, SAT_POWER, SIGMOID_LOG, SIGMOID_SCORE, Law, fit_law
from probecast.forecast.table import chance_level, resolve_metric, validate_long_table, wide

AXES = ("tokens", "flops", "step")
EMERGENCE_MARGIN = 0.05


def emerged_mask(y: np.ndarray, chance: float, n_min: int) -> np.ndarray:
    """Checkpoints above chance + 5 points, extended back to the last `n_min` checkpoints when fewer emerged
    (a saturating law is not meant for the flat pre-emergence phase, but it needs n_min points)."""
    keep = y > chance + EMERGENCE_MARGIN
    keep[-min(n_min, len(y)):] = True
    return keep


def pooled_law(chance: float) -> Law:
    def fn(theta: np.ndarray, nd: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        log_an, alpha, log_ad, beta, u0, hi = theta
        n, d = (np.asarray(v, float) for v in nd)
        u = np.exp(log_an - alpha * np.log(n / 1e9)) + np.exp(log_ad - beta * np.log(d / 1e11))
        return chance + (hi - chance) * expit(u0 - u)

    def init(nd, y):
        p0 = [0.0, 0.3, 0.0, 0.3, 1.0, float(min(max(y.max() + 0.1, chance + 0.05), 1.0))]
        return p0, ([-10, 0.0, -10, 0.0, -20, float(max(y.max(), chance))], [10, 2.0, 10, 2.0, 20, 1.0])

    return Law("pooled", ("log_aN", "alpha", "log_aD", "beta", "u0", "hi"), fn, init,
               "y = chance + (hi - chance) sigmoid(u0 - a_N N^-alpha - a_D D^-beta)")


@register_forecaster
@dataclass
class TrajectoryForecaster(Forecaster):
    name: ClassVar[str] = "trajectory"
    task: str = "arc_easy"
    run: str | None = None  # default: the only run in the table
    form: str = "power"  # chosen by a backtest inside the fit window (README: forecast)
    x: str = "tokens"  # tokens, flops, step, or a loss metric such as loss/c4_en
    fit_until: float | None = None  # last token count (inclusive) the fit may see; None = every row given
    chance: float | None = None
    n_boot: int = 100
    level: float = 0.9
    seed: int = 0
    calibrate: bool = True  # widen intervals by the backtest inside the fit window (backtest.Backtest)

    def fit(self, table: pd.DataFrame) -> "TrajectoryForecaster":
        forms = FORMS if self.x in AXES else LOSS_FORMS
        if self.form not in forms:
            raise ProbecastError(f"--form {self.form} with --x {self.x}: choose one of {', '.join(forms)} (or another --x)")
        table = validate_long_table(table, "trajectory fit table")
        self.score_metric_ = resolve_metric(table, self.task, "acc")
        if self.x not in AXES and self.x not in set(table["metric"]):
            raise ProbecastError(f"--x {self.x}: expected tokens, flops, step or a metric of the table")
        w = wide(table, [self.score_metric_] + ([] if self.x in AXES else [self.x]))
        runs = sorted(w["run"].unique())
        self.run_ = self.run or (runs[0] if len(runs) == 1 else None)
        if self.run_ not in runs:
            raise ProbecastError(f"--run {self.run}: choose one of {', '.join(runs)}" if self.run else
                                 f"the table holds {len(runs)} runs; name one with --run")
        w = w.dropna(subset=[self.x])
        if self.fit_until is not None:
            w = w[w["tokens"] <= self.fit_until]
        self.chance_ = chance_level(self.score_metric_) if self.chance is None else self.chance
        own = w[w["run"] == self.run_].sort_values("step")
        if len(own) < 2:
            raise ProbecastError(f"trajectory: run {self.run_!r} has {len(own)} checkpoint(s) of {self.score_metric_} "
                                 f"up to {self.fit_until} tokens; a trajectory needs at least 2")
        self.last_ = own.iloc[-1]
        self.fit_data_ = own
        kw = dict(n_boot=self.n_boot, seed=self.seed)
        y = own[self.score_metric_].to_numpy(float)
        x = own[self.x].to_numpy(float)
        if self.form == "pooled":
            self.result_ = self._fit_pooled(w, kw)
        else:
            self.result_ = self._fit_own(x, y, **kw)
        self.backtest_ = self._backtest(w) if self.calibrate else Backtest()
        self.fitted_ = True
        return self

    def residual_dof(self) -> int | None:
        """Points minus parameters of the fitted law (None for `last`). At 0 the law passes through every point:
        no residual spread is left to estimate, so its own interval would have zero width."""
        r = self.result_
        return None if r is None else int(r.n_points - len(r.params))

    def _fit_own(self, x: np.ndarray, y: np.ndarray, **kw) -> FitResult | None:
        if self.form == "last":
            return None
        if self.form == "power":
            keep = emerged_mask(y, self.chance_, len(SAT_POWER.names))
            return fit_law(SAT_POWER, x[keep], y[keep], what="trajectory power (emerged checkpoints)", **kw)
        return fit_law(self._law(), x, y, what=f"trajectory {self.form}", **kw)

    def _backtest(self, w: pd.DataFrame) -> Backtest:
        """Per run of `w`: fit on the checkpoints up to half the run's last visible step, forecast that last one.

        Half the window keeps the backtest horizon comparable to a forecast's (a last-step-only backtest would
        scale a tiny, noise-sized error by a large ratio); a run whose half-window cannot be fitted is skipped.
        """
        bt = Backtest()
        w = w.dropna(subset=[self.score_metric_]).sort_values("step")
        first = w["step"] <= w.groupby("run")["step"].transform("max") / 2
        if self.form == "pooled":  # one pooled fit on every run's first half, forecasting every run's end
            try:
                r = self._fit_pooled(w[first], {"n_boot": 0, "seed": self.seed})
            except ProbecastError:
                return bt
            starts = w[first].groupby("run")["tokens"].max()
            ends = w[~first & w["run"].isin(starts.index)].groupby("run").tail(1).dropna(subset=["params"])
            guess = self.law_.fn(r.params, (ends["params"].to_numpy(float), ends["tokens"].to_numpy(float)))
            for (_, end), g in zip(ends.iterrows(), guess):
                bt.add(_log_distance(end["tokens"], starts[end["run"]]), g - end[self.score_metric_])
            return bt
        for _, run in w.groupby("run"):
            head, end = run[run["step"] <= run["step"].max() / 2], run.iloc[-1]
            if len(head) < 2 or len(head) == len(run):
                continue
            x, y = head[self.x].to_numpy(float), head[self.score_metric_].to_numpy(float)
            try:
                guess = y[-1] if self.form == "last" else \
                    self._law().fn(self._fit_own(x, y, n_boot=0, seed=self.seed).params, np.array([end[self.x]]))[0]
            except ProbecastError:
                continue
            bt.add(_log_distance(end[self.x], x[-1]), guess - end[self.score_metric_])
        return bt

    def _fit_pooled(self, w: pd.DataFrame, kw: dict) -> FitResult:
        if self.x != "tokens":
            raise ProbecastError("--form pooled works in tokens: give --x tokens")
        w = w.dropna(subset=["params"])
        if w["params"].nunique() < 2 or self.run_ not in set(w["run"]):
            raise ProbecastError("--form pooled needs runs of at least two sizes with known params; give another --form")
        self.law_ = pooled_law(self.chance_)
        self.params_ = float(w.loc[w["run"] == self.run_, "params"].iloc[0])
        return fit_law(self.law_, (w["params"].to_numpy(float), w["tokens"].to_numpy(float)),
                       w[self.score_metric_].to_numpy(float), groups=w["run"].to_numpy(),
                       what="trajectory pooled", **kw)

    def _law(self) -> Law:
        if self.x not in AXES:
            return {"sigmoid": SIGMOID_SCORE, "linear": LINEAR}[self.form]
        return {"loglinear": LOG_LINEAR, "sigmoid": SIGMOID_LOG, "power": SAT_POWER}.get(self.form) or self.law_

    def query_at(self, value: float) -> Query:
        """A query whose x (tokens, flops, step or the loss metric) is `value`."""
        if self.x in AXES:
            return Query(**{self.x: value})
        return Query(values={self.x: value})

    def _xq(self, query: Query) -> float:
        if self.x in AXES:
            value = {"tokens": query.tokens, "flops": query.flops, "step": query.step}[self.x]
        else:
            value = (query.values or {}).get(self.x)
        if value is None:
            raise ProbecastError(f"trajectory: the query needs {self.x}")
        return float(value)

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        xq = self._xq(query)
        if self.form == "last":
            point = lo = hi = float(self.last_[self.score_metric_])
        else:
            xin = (np.array([self.params_]), np.array([xq])) if self.form == "pooled" else np.array([xq])
            c, lo_, hi_ = predict_with_interval(self._law().fn, self.result_, xin, self.level)
            point, lo, hi = float(c[0]), float(lo_[0]), float(hi_[0])
        xs = self.fit_data_[self.x].to_numpy(float)
        horizon = 0.0 if xs.min() <= xq <= xs.max() else _log_distance(xq, xs[-1])  # beyond the data, in log x
        lo, hi = self.backtest_.widen(point, lo, hi, horizon, self.level)
        extras = {"form": self.form, self.x: xq, "extrapolation_sd": self.backtest_.sd(horizon)}
        dof = self.residual_dof()
        if dof is not None and dof <= 0:  # marked, and never a zero-width guess: nothing bounds the score but [0, 1]
            extras["interval_note"] = (f"{self.result_.n_points} points for {len(self.result_.params)} parameters: no "
                                       f"residual degrees of freedom; fit more checkpoints for an interval")
            if not hi - lo > 1e-9:
                lo, hi = 0.0, 1.0
        clip = lambda v: float(np.clip(v, 0.0, 1.0))  # noqa: E731
        return Forecast(clip(point), (clip(lo), clip(hi)), extras)

    def fitted_params(self) -> dict:
        self.check_fitted()
        if self.result_ is None:
            return {"last": float(self.last_[self.score_metric_]), "at": float(self.last_[self.x])}
        return {**self.result_.as_dict(), "rmse": self.result_.rmse, "formula": self._law().formula}


def _log_distance(a: float, b: float) -> float:
    """|ln(a / b)|: how far apart two positive x values are (tokens, FLOPs, steps, or losses); NaN otherwise."""
    return float(abs(np.log(a / b))) if a > 0 and b > 0 else float("nan")
