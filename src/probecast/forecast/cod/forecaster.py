"""Clustering-On-Difficulty (COD, arXiv 2502.17262): forecast a task score from per-question pass rates.

Aggregate task scores scale badly because questions of very different difficulty are mixed: some are solved
already, some follow a smooth curve, some stay at zero then jump. COD
1. describes every question by its pass-rate curve over a series of small models (`cod.data`),
2. clusters the questions by those curves with an improved MeanShift (`cod.cluster`), then moves questions
   between the clusters by their binomial counts until each sits in the cluster whose pooled curve makes its
   counts likeliest (`cod.refine`; `refine=False` keeps MeanShift's clusters),
3. fits y(C) = g + (1-g)·exp(-a·C^(-b) - c) to every cluster's mean curve (`cod.law`), then moves each
   cluster's b towards the task's pooled b by how poorly its own points determine it and refits a and c
   (`cod.shrink`; `shared_b=False` keeps the free fits): a cluster with one point above zero takes the task's b;
   `mixture=True` fits instead the mean of the law over the cluster's spread of a, read off its counts
   (`cod.mixture`; measured on the planted family and not the default, see the README),
4. keeps the predictable clusters (monotone, converging fits; `PredictableRule`) and predicts their
   size-weighted mean score at the target compute (the *subset* score); an outlier question counts with its
   nearest cluster (`count_outliers`; it shapes no law but belongs to the task),
5. maps the subset score to the full-set score with a monotone function through (0,0) and (1,1), fitted on the
   small models as anchors (`cod.mapping`).
`EndToEndForecaster` fits the same law directly to the task score (the paper's baseline).

Both read the per-question table of `cod.data` (not the long table: COD needs per-question results). The
interval is a bootstrap over questions (resampled within each cluster, clusters fixed): the spread of the
forecast that comes from which questions happened to be in the benchmark. That leaves out the error of the laws'
extrapolation, so the interval is widened in quadrature by a leave-largest-models-out backtest on the fitted
series (`backtest.SeriesBacktest`; `calibrate=False` turns it off). No point forecast changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.backtest import SeriesBacktest
from probecast.forecast.base import Forecast, Forecaster, Query, register_forecaster
from probecast.forecast.cod.cluster import (ClusterConfig, cluster_questions, cluster_summary, finalise_labels,
                                           nearest_cluster)
from probecast.forecast.cod.data import QuestionMatrix, question_matrix, validate_question_table
from probecast.forecast.cod.law import PredictableRule, cluster_law, fit_law
from probecast.forecast.cod.rule import C_PRIOR
from probecast.forecast.cod.mapping import MonotoneMapping
from probecast.forecast.cod.mixture import estimate_sigma
from probecast.forecast.cod.refine import refine_labels
from probecast.forecast.cod.shrink import posterior, task_prior
from probecast.forecast.fitting import FitResult, interval
from probecast.ui import track


@dataclass
class _Fit:
    """One fit of every predictable cluster law and of the mapping (the main fit or a bootstrap replicate)."""

    laws: np.ndarray        # (K_pred, 3) a, b, c per predictable cluster (b shrunk, `cod.shrink`)
    weights: np.ndarray     # (K_pred,) cluster sizes
    mapping: MonotoneMapping
    free: np.ndarray        # (K_pred, 3) the laws fitted without the shared prior on b (starts for refits)
    sigmas: np.ndarray      # (K_pred,) spread of a of each mixture law (0: the plain law)

    def subset(self, C: float, g: float) -> float:
        preds = [cluster_law(C, a, b, c, g, s) for (a, b, c), s in zip(self.laws, self.sigmas)]
        return float(np.average(preds, weights=self.weights))


@register_forecaster
@dataclass
class CODForecaster(SeriesBacktest, Forecaster):
    name: ClassVar[str] = "cod"

    task: str | None = None
    chance: float = 0.0                 # g: chance level of the task format (0 for generative tasks)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    rule: PredictableRule = field(default_factory=PredictableRule)
    mapping_degree: int = 4
    mapping_ridge: float = 1e-3
    use_mapping: bool = True            # False = "COD without mapping": the subset score is the forecast
    c_prior: float = C_PRIOR            # pull of each cluster law's irreducible c towards 0 (cod.law.fit_law)
    shared_b: bool = True               # shrink each cluster's b towards the task's pooled b (cod.shrink)
    refine: bool = True                 # reassign questions by their binomial counts after clustering (cod.refine)
    mixture: bool = False               # fit each cluster's mean over its questions' spread of a (cod.mixture)
    count_outliers: bool = True         # outliers count with their nearest cluster (cod.cluster.nearest_cluster)
    n_boot: int = 200
    level: float = 0.9
    seed: int = 0
    progress: bool = False
    calibrate: bool = True              # widen the interval by a leave-largest-models-out backtest

    def fit(self, table: pd.DataFrame) -> "CODForecaster":
        """`table`: the per-question table of `cod.data` (not the long table; COD needs per-question results)."""
        table = validate_question_table(table, "cod table")
        return self.fit_matrix(question_matrix(table, self.task or _only_task(table)))

    def fit_matrix(self, m: QuestionMatrix) -> "CODForecaster":
        if not 0 <= self.chance < 1:
            raise ProbecastError(f"--chance {self.chance}: must be in [0, 1)")
        self.matrix_ = m
        self.unit_ = float(m.compute[0])  # compute unit: the smallest model's FLOPs
        C = m.compute / self.unit_
        P = m.pass_rate
        self.labels_ = cluster_questions(P, self.cluster)
        if self.refine:
            refined = refine_labels(m.c, m.n, self.labels_, self.cluster.min_size)
            self.labels_ = finalise_labels(P, refined, self.cluster.min_size)
        self.clusters_ = cluster_summary(P, self.labels_)
        self.counted_ = nearest_cluster(P, self.labels_) if self.count_outliers else self.labels_
        members = [self.labels_ == row["cluster"] for row in self.clusters_]
        self.sigma_ = {row["cluster"]: 0.0 for row in self.clusters_}
        free = [self._fit_cluster(C, P[i].mean(axis=0), row["cluster"], self.seed)
                for row, i in zip(self.clusters_, members)]
        if self.mixture:  # the spread of a from each cluster's counts, then its mixture law (held in replicates)
            self.sigma_ = {row["cluster"]: estimate_sigma(C, m.c[i], m.n[i], res.params, self.chance)
                           for row, i, res in zip(self.clusters_, members, free)}
            free = [self._fit_cluster(C, P[i].mean(axis=0), row["cluster"], self.seed)
                    for row, i in zip(self.clusters_, members)]
        var, prior = task_prior(C, free, [(m.c[i], m.n[i]) for i in members], self.rule, self.chance,
                                list(self.sigma_.values()))
        self.b_var_ = {row["cluster"]: v for row, v in zip(self.clusters_, var)}
        self.b_prior_ = prior if self.shared_b else (float("nan"), float("nan"))
        for row, res in zip(self.clusters_, free):
            k = row["cluster"]
            shrunk = self._shrink(C, P[self.labels_ == k].mean(axis=0), k, res, self.seed)
            row.update(shrunk.as_dict(), sigma=self.sigma_[k], rmse=shrunk.rmse, b_free=float(res.params[1]),
                       b_sd=_finite(np.sqrt(self.b_var_[k])))  # None: the cluster's own data leave b free
            row["predictable"], row["reason"] = self.rule.check(shrunk.as_dict(), shrunk.rmse)
        self.predictable_ = [r["cluster"] for r in self.clusters_ if r["predictable"]]
        if not self.predictable_:
            why = "; ".join(f"cluster {r['cluster']} (n={r['size']}): {r['reason']}" for r in self.clusters_)
            raise ProbecastError(
                f"task {m.task!r}: no cluster passes the predictable rule ({why or 'every question is an outlier'}); "
                "relax --min-a/--min-b/--max-c or --min-cluster-size, or give more models")
        self.main_ = self._fit_once(np.arange(len(P)), C, self.seed)
        self.boot_ = self._bootstrap(C)
        self._fit_backtests(m)
        self.fitted_ = True
        return self

    # ---- fitting pieces --------------------------------------------------------------------------------------
    def _fit_once(self, rows: np.ndarray, C: np.ndarray, seed: int, start: _Fit | None = None) -> _Fit:
        """Cluster laws + mapping on the questions `rows` (possibly a resample, with repeats)."""
        P, labels, counted = self.matrix_.pass_rate[rows], self.labels_[rows], self.counted_[rows]
        laws, free, weights, subset_mask = [], [], [], np.isin(counted, self.predictable_)
        for i, k in enumerate(self.predictable_):
            member = labels == k
            y = P[member].mean(axis=0)
            res = self._fit_cluster(C, y, k, seed, None if start is None else start.free[i])
            free.append(res.params)
            laws.append(self._shrink(C, y, k, res, seed, None if start is None else start.laws[i]).params)
            weights.append((counted == k).sum())  # members plus the outliers nearest to the cluster
        subset_scores = P[subset_mask].mean(axis=0)
        full_scores = P.mean(axis=0)
        mapping = MonotoneMapping(self.mapping_degree, self.mapping_ridge).fit(subset_scores, full_scores)
        return _Fit(np.asarray(laws), np.asarray(weights, float), mapping, np.asarray(free),
                    np.array([self.sigma_[k] for k in self.predictable_]))

    def _fit_cluster(self, C: np.ndarray, y: np.ndarray, k: int, seed: int, p0: np.ndarray | None = None,
                     fixed_b: float | None = None) -> FitResult:
        return fit_law(C, y, self.chance, p0=p0, n_starts=8 if p0 is None else 1, seed=seed,
                       what=f"cluster {k} law", c_prior=self.c_prior, fixed_b=fixed_b, sigma=self.sigma_[k])

    def _shrink(self, C: np.ndarray, y: np.ndarray, k: int, res: FitResult, seed: int,
                start: np.ndarray | None = None) -> FitResult:
        """The cluster law with b at its posterior under the task's shared prior (the free fit without one)."""
        b = posterior(res.params[1], self.b_var_[k], *self.b_prior_)
        if b == res.params[1]:
            return res
        return self._fit_cluster(C, y, k, seed, start, fixed_b=b)  # main fit: several starts; replicates: one

    def _bootstrap(self, C: np.ndarray) -> list[_Fit]:
        rng = np.random.default_rng(self.seed)
        groups = [np.flatnonzero(self.labels_ == k) for k in np.unique(self.labels_)]
        fits = []
        for _ in track(range(self.n_boot), "COD bootstrap", show=self.progress):
            rows = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
            try:
                fits.append(self._fit_once(rows, C, int(rng.integers(1 << 31)), start=self.main_))
            except ProbecastError:
                continue
        return fits

    # ---- prediction ------------------------------------------------------------------------------------------
    def _score(self, fit: _Fit, C: float, mapped: bool) -> float:
        subset = fit.subset(C, self.chance)
        return float(fit.mapping.predict(subset)) if mapped else subset

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        C = query.compute / self.unit_
        point = self._score(self.main_, C, self.use_mapping)
        draws = np.array([self._score(f, C, self.use_mapping) for f in self.boot_]) if self.boot_ else None
        table = []
        for row in self.clusters_:
            pred = float(cluster_law(C, row["a"], row["b"], row["c"], self.chance, row["sigma"]))
            table.append({**row, "predicted": pred})
        extras = {
            "predicted_subset": self.main_.subset(C, self.chance),
            "predicted_mapped": self._score(self.main_, C, True),
            "subset_questions": int(np.isin(self.counted_, self.predictable_).sum()),
            "questions": len(self.labels_),
            "outliers": int((self.labels_ < 0).sum()),
            "models": self.matrix_.models,
            "compute_unit": self.unit_,
            "clusters": table,
            "mapping": self.main_.mapping.get_params(),
            "b_prior": {"mu": _finite(self.b_prior_[0]), "tau": _finite(np.sqrt(self.b_prior_[1]))},
        }
        lo, hi = self._widen(point, *interval(point, draws, self.level), query.compute)
        return Forecast(point, (lo, hi), {**extras, "backtest": self.backtest().to_dict()})

    def _point(self, fitted: "CODForecaster", flops: float) -> float:
        return fitted._score(fitted.main_, flops / fitted.unit_, self.use_mapping)

    def get_params(self) -> dict[str, Any]:
        """The configuration as plain values (nested configs as dicts), JSON-ready."""
        params = super().get_params()
        return {**params, "cluster": asdict(self.cluster), "rule": asdict(self.rule)}

    def fitted_params(self) -> dict[str, Any]:
        self.check_fitted()
        return {"clusters": self.clusters_, "mapping": self.main_.mapping.get_params(), "compute_unit": self.unit_}

    def curves(self) -> dict[str, Any]:
        """What the plot needs: compute, per-cluster mean curves and the anchor scores of the mapping."""
        P = self.matrix_.pass_rate
        subset = np.isin(self.counted_, self.predictable_)
        return {"compute": self.matrix_.compute, "unit": self.unit_, "chance": self.chance,
                "clusters": self.clusters_, "anchor_subset": P[subset].mean(axis=0), "anchor_full": P.mean(axis=0),
                "mapping": self.main_.mapping}


@register_forecaster
@dataclass
class EndToEndForecaster(SeriesBacktest, Forecaster):
    """The direct fit of the task score on compute with the same law (COD's end-to-end baseline)."""

    name: ClassVar[str] = "end-to-end"

    task: str | None = None
    chance: float = 0.0
    n_boot: int = 200
    level: float = 0.9
    seed: int = 0
    calibrate: bool = True  # widen the interval by a leave-largest-models-out backtest

    def fit(self, table: pd.DataFrame) -> "EndToEndForecaster":
        table = validate_question_table(table, "end-to-end table")
        return self.fit_matrix(question_matrix(table, self.task or _only_task(table)))

    def fit_matrix(self, m: QuestionMatrix) -> "EndToEndForecaster":
        self.matrix_ = m
        self.unit_ = float(m.compute[0])
        C = m.compute / self.unit_
        res = fit_law(C, m.task_score(), self.chance, seed=self.seed, what=f"task {m.task!r} end-to-end law")
        self.params_, self.rmse_ = res.params, res.rmse
        rng = np.random.default_rng(self.seed)
        self.boot_ = []
        for _ in range(self.n_boot):
            rows = rng.integers(0, len(m.question_ids), len(m.question_ids))
            y = m.pass_rate[rows].mean(axis=0)
            self.boot_.append(fit_law(C, y, self.chance, p0=res.params, n_starts=1,
                                      seed=int(rng.integers(1 << 31))).params)
        self._fit_backtests(m)
        self.fitted_ = True
        return self

    def predict(self, query: Query) -> Forecast:
        self.check_fitted()
        C = query.compute / self.unit_
        point = float(cluster_law(C, *self.params_, self.chance))
        draws = np.array([cluster_law(C, *p, self.chance) for p in self.boot_])
        lo, hi = self._widen(point, *interval(point, draws, self.level), query.compute)
        return Forecast(point, (lo, hi), {"law": self.fitted_params(), "models": self.matrix_.models,
                                          "compute_unit": self.unit_, "backtest": self.backtest().to_dict()})

    def _point(self, fitted: "EndToEndForecaster", flops: float) -> float:
        return float(cluster_law(flops / fitted.unit_, *fitted.params_, self.chance))

    def fitted_params(self) -> dict[str, Any]:
        a, b, c = self.params_
        return {"a": float(a), "b": float(b), "c": float(c), "rmse": float(self.rmse_)}


def _finite(x: float) -> float | None:
    """A JSON-ready number: None for inf/nan (no shared prior, or a b its cluster's data leave free)."""
    return float(x) if np.isfinite(x) else None


def _only_task(table: pd.DataFrame) -> str:
    tasks = sorted(table["task"].unique())
    if len(tasks) != 1:
        raise ProbecastError(f"the table holds tasks {', '.join(tasks[:10])}; name one with --task")
    return tasks[0]
