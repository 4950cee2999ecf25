"""FLP-M (the mixture variant of FLP, arXiv 2410.08527, Sec. 4): several domain losses -> task score.

Stage 1: each domain's validation loss (every `loss/<set>` in the table, or the ones named) as its own power
         law of compute, fitted on the final checkpoints of the sampling runs.
Stage 2: a small two-layer network (tanh hidden layer, linear output, L2 penalty) maps the standardised domain
         losses to the task score, fitted with the shared least-squares core from several random starts on the
         checkpoints past the emergent phase.
Why: a task may track one domain (code, science text) better than a single general loss does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.base import Forecast, Forecaster, Query, register_forecaster
from probecast.forecast.chain import SizeBacktest, Stage, chain_forecast
from probecast.forecast.fitting import FitResult, bootstrap, fit_curve
from probecast.forecast.flp import emerged
from probecast.forecast.laws import POWER_COMPUTE, fit_law
from probecast.forecast.table import compute_of, final_rows, metric_names, resolve_metric, validate_long_table, wide


def mlp(theta: np.ndarray, z: np.ndarray, mean: np.ndarray, std: np.ndarray, hidden: int) -> np.ndarray:
    """y = b2 + tanh(((z - mean) / std) W1 + b1) w2 for z of shape [n, K]."""
    z = np.atleast_2d(np.asarray(z, float))
    k = z.shape[1]
    w1 = theta[: k * hidden].reshape(k, hidden)
    b1 = theta[k * hidden: k * hidden + hidden]
    w2 = theta[k * hidden + hidden: k * hidden + 2 * hidden]
    return theta[-1] + np.tanh(((z - mean) / std) @ w1 + b1) @ w2


def mlp_jacobian(theta: np.ndarray, z: np.ndarray, mean: np.ndarray, std: np.ndarray, hidden: int) -> np.ndarray:
    """d mlp / d theta, [n, P], in the parameter order of `mlp`."""
    x = (np.atleast_2d(np.asarray(z, float)) - mean) / std
    k = x.shape[1]
    w1 = theta[: k * hidden].reshape(k, hidden)
    b1 = theta[k * hidden: k * hidden + hidden]
    w2 = theta[k * hidden + hidden: k * hidden + 2 * hidden]
    h = np.tanh(x @ w1 + b1)
    dh = (1 - h ** 2) * w2  # d y / d pre-activation
    d_w1 = (x[:, :, None] * dh[:, None, :]).reshape(len(x), k * hidden)
    return np.hstack([d_w1, dh, h, np.ones((len(x), 1))])


@register_forecaster
@dataclass
class FLPMForecaster(SizeBacktest, Forecaster):
    name: ClassVar[str] = "flpm"
    task: str = "hellaswag"
    domains: list[str] = field(default_factory=list)  # loss metrics; empty = every loss/<set> in the table
    hidden: int = 4
    ridge: float = 1e-3
    n_starts: int = 4
    n_boot: int = 50
    level: float = 0.9
    chance: float | None = None
    seed: int = 0
    calibrate: bool = True  # widen intervals by a leave-largest-size-out backtest (chain.SizeBacktest)

    def fit(self, table: pd.DataFrame) -> "FLPMForecaster":
        table = validate_long_table(table, "flpm fit table")
        self.score_metric_ = resolve_metric(table, self.task, "acc")
        self.domains_ = [d if d.startswith("loss/") else f"loss/{d}" for d in self.domains] or metric_names(table, "loss")
        if not self.domains_:
            raise ProbecastError("flpm: the table has no loss/<set> metrics to use as domains")
        w = wide(table, [self.score_metric_, *self.domains_])
        w = w.assign(compute=compute_of(w))
        finals = final_rows(w)
        self.stage1_ = [fit_law(POWER_COMPUTE, finals["compute"].to_numpy(), finals[d].to_numpy(),
                                n_boot=self.n_boot, groups=finals["run"].to_numpy(), seed=self.seed,
                                what=f"flpm stage 1 ({d})") for d in self.domains_]
        s2 = emerged(w, self.score_metric_, self.chance)
        z = s2[self.domains_].to_numpy(float)
        self.mean_, self.std_ = z.mean(axis=0), z.std(axis=0) + 1e-9
        rng = np.random.default_rng(self.seed)
        n_par = len(self.domains_) * self.hidden + 2 * self.hidden + 1
        p0 = rng.normal(0, 0.5, n_par)
        p0[-1] = float(s2[self.score_metric_].mean())
        y = s2[self.score_metric_].to_numpy(float)
        kw = dict(ridge=self.ridge, jac=self._net_jac, what=f"flpm stage 2 ({self.score_metric_})")
        self.stage2_: FitResult = fit_curve(self._net, z, y, p0, [f"w{i}" for i in range(n_par)], None,
                                            n_starts=self.n_starts, seed=self.seed, **kw)
        if self.n_boot:
            bootstrap(self._net, z, y, self.stage2_, n_boot=self.n_boot, groups=s2["run"].to_numpy(),
                      seed=self.seed, **kw)
        return self._finish_fit(w, table)

    def _net(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        return mlp(theta, z, self.mean_, self.std_, self.hidden)

    def _net_jac(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        return mlp_jacobian(theta, z, self.mean_, self.std_, self.hidden)

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        x = np.array([query.compute])
        first = [Stage(POWER_COMPUTE.fn, r) for r in self.stage1_]
        point, (lo, hi), z = chain_forecast(first, x, Stage(self._net, self.stage2_), self.level)
        lo, hi = self._widen(point, lo, hi, query)
        return Forecast(point, (lo, hi), {"intermediate": dict(zip(self.domains_, z)), "compute": float(x[0]),
                                            **self._reach_extras(query)})

    def fitted_params(self) -> dict:
        self.check_fitted()
        return {"stage1": {d: {**r.as_dict(), "rmse": r.rmse} for d, r in zip(self.domains_, self.stage1_)},
                "stage2": {"hidden": self.hidden, "n_weights": len(self.stage2_.params), "rmse": self.stage2_.rmse}}
