"""Evaluate forecasters on held-out data: the same split for every method, errors in one table.

Two kinds of split:
- across runs (`compare_runs`): fit cross-run methods (ladder, FLP, FLP-M) on some runs, forecast the final
  checkpoint of each held-out run from its params, tokens and FLOPs;
- along a run (`compare_trajectories`): fit every trajectory form on checkpoints up to a token cut-off and
  forecast a later checkpoint of the same run (by default the last).
Fitting never sees the held-out rows: they are removed from the table before `fit`.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.base import Query, get_forecaster
from probecast.forecast.choices import FORMS
from probecast.forecast.table import final_rows, resolve_metric, wide
from probecast.ui import track


def select_runs(table: pd.DataFrame, prefixes: Iterable[str]) -> list[str]:
    """Runs named exactly by, or starting with `<prefix>-`, one of `prefixes`."""
    prefixes = list(prefixes)
    return sorted(r for r in table["run"].unique()
                  if any(r == p or r.startswith(p + "-") for p in prefixes))


def compare_runs(table: pd.DataFrame, holdout: Sequence[str], tasks: Sequence[str],
                 methods: Sequence[str] = ("ladder", "flp", "flpm"), configs: dict[str, dict] | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """One row per method x task x held-out run: actual, predicted, interval, error (all on the 0-1 scale).

    `methods` are labels; `configs[label]` holds the forecaster's settings, with "method" naming the registered
    forecaster when the label is a variant (e.g. {"flp-sigmoid": {"method": "flp", "stage2": "sigmoid"}}).
    """
    targets = select_runs(table, holdout)
    if not targets:
        raise ProbecastError(f"--holdout {' '.join(holdout)}: no run matches; runs: {', '.join(sorted(table['run'].unique()))}")
    train = table[~table["run"].isin(targets)]
    test = table[table["run"].isin(targets)]
    rows = []
    jobs = [(m, t) for t in tasks for m in methods]
    for method, task in track(jobs, "fitting", show=progress):
        metric = resolve_metric(table, task, "acc")
        finals = final_rows(wide(test, [metric]))
        try:
            config = dict((configs or {}).get(method, {}))
            forecaster = get_forecaster(config.pop("method", method), task=task, **config).fit(train)
        except ProbecastError as exc:  # e.g. a task that never rises above chance in the small runs
            rows += [dict(method=method, task=task, run=r.run, actual=r[metric], predicted=np.nan, lo=np.nan,
                          hi=np.nan, error=np.nan, forecastable=False, note=str(exc)) for _, r in finals.iterrows()]
            continue
        for _, r in finals.iterrows():
            fc = forecaster.predict(Query(params=r.params, tokens=r.tokens, flops=r.flops))
            rows.append(dict(method=method, task=task, run=r.run, actual=r[metric], predicted=fc.predicted,
                             lo=fc.interval[0], hi=fc.interval[1], error=fc.predicted - r[metric],
                             forecastable=fc.extras.get("forecastable", True), note=""))
    return pd.DataFrame(rows)


def compare_trajectories(table: pd.DataFrame, runs: Sequence[str], tasks: Sequence[str], fit_until_tokens: float,
                         target_step: int | None = None, forms: Sequence[str] = FORMS,
                         n_boot: int = 0, progress: bool = True) -> pd.DataFrame:
    """One row per form x task x run: the forecast of the checkpoint at `target_step` (default: each run's last)."""
    visible = table[table["tokens"] <= fit_until_tokens]
    rows = []
    jobs = [(t, r) for t in tasks for r in runs]
    for task, run in track(jobs, "trajectories", show=progress):
        metric = resolve_metric(table, task, "acc")
        later = wide(table[(table["run"] == run) & (table["tokens"] > fit_until_tokens)], [metric])
        if later.empty:
            raise ProbecastError(f"run {run}: no checkpoint of {metric} after {fit_until_tokens:.3g} tokens to forecast")
        target = later.iloc[-1] if target_step is None else later[later["step"] == target_step].iloc[0]
        for form in forms:
            f = get_forecaster("trajectory", task=task, run=run, form=form, fit_until=fit_until_tokens, n_boot=n_boot)
            try:
                fc = f.fit(visible).predict(Query(tokens=target.tokens, step=int(target.step)))
            except ProbecastError as exc:
                rows.append(dict(form=form, task=task, run=run, step=int(target.step), actual=target[metric],
                                 predicted=np.nan, lo=np.nan, hi=np.nan, error=np.nan, note=str(exc)))
                continue
            rows.append(dict(form=form, task=task, run=run, step=int(target.step), actual=target[metric],
                             predicted=fc.predicted, lo=fc.interval[0], hi=fc.interval[1],
                             error=fc.predicted - target[metric], note=""))
    return pd.DataFrame(rows)


def unforecastable(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(method, task) pairs whose forecasts say the backtests miss too widely (`forecastable` False)."""
    if "forecastable" not in df:
        return []
    bad = df[(df["forecastable"] == False) & df["predicted"].notna()]  # noqa: E712
    return sorted(set(zip(bad["method"], bad["task"])))


def mae_table(df: pd.DataFrame, index: str, columns: str) -> pd.DataFrame:
    """Mean absolute error in points (x100) by `index` x `columns`, with a row for the mean over everything."""
    out = df.assign(abs_err=df["error"].abs() * 100).pivot_table(index=index, columns=columns, values="abs_err",
                                                                  aggfunc="mean")
    out = out.reindex([k for k in pd.unique(df[index]) if k in out.index])  # rows in the order they were run
    out.loc["mean"] = df.assign(abs_err=df["error"].abs() * 100).groupby(columns)["abs_err"].mean()
    return out
