"""Backtest COD on a model series: hold out the largest model, forecast it from the others, three ways.

For each task, the model with the most compute is the target; COD, COD without the mapping, and the
end-to-end fit are fitted on the remaining models and compared with the target's observed score. This is
the measurement behind the README table (`probecast forecast cod-compare`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.base import Query
from probecast.forecast.choices import COD_METHODS
from probecast.forecast.cod.forecaster import CODForecaster, EndToEndForecaster
from probecast.forecast.cod.data import question_matrix

METHODS = COD_METHODS


def holdout_largest(df: pd.DataFrame, task: str, source: str) -> tuple[pd.DataFrame, str, float, float]:
    """(rows of the other models, target model, its compute, its observed score).

    With `--points all` a workspace contributes one model per checkpoint (`run@checkpoint`); then every
    checkpoint of the target's run is held out, not only the last one, so the fit never sees the target run.
    """
    sub = df[df["task"] == task]
    if sub.empty:
        raise ProbecastError(f"{source}: task {task!r} not in the table")
    compute = sub.groupby("model")["flops"].first()
    target = compute.idxmax()
    run = sub["model"].str.split("@").str[0]
    rows = sub[sub["model"] == target]
    return sub[run != target.split("@")[0]], target, float(compute[target]), float((rows["c"] / rows["n"]).mean())


def compare_methods(df: pd.DataFrame, task: str, cod: CODForecaster, end_to_end: EndToEndForecaster,
                    source: str = "table") -> pd.DataFrame:
    """One row per method: predicted, interval, actual, absolute error (the target is the largest model).

    When COD cannot forecast the task (no predictable cluster), its rows hold NaN and the reason in `note`."""
    fit_rows, target, compute, actual = holdout_largest(df, task, source)
    matrix = question_matrix(fit_rows, task, source)
    base = {"task": task, "target": target, "fit_models": len(matrix.models), "actual": actual}
    rows = []
    cod.task = end_to_end.task = task
    cod.use_mapping = True
    try:
        cod.fit_matrix(matrix)
        cod_error = ""
    except ProbecastError as exc:  # e.g. no predictable cluster: COD has no forecast for this task
        cod_error = str(exc)
    for method in METHODS:
        if method == "end-to-end":
            forecast = end_to_end.fit_matrix(matrix).predict(Query(flops=compute))
            subset = np.nan
        elif cod_error:
            rows.append({**base, "method": method, "predicted": np.nan, "interval_low": np.nan,
                         "interval_high": np.nan, "abs_error": np.nan, "subset_share": np.nan, "note": cod_error})
            continue
        else:
            cod.use_mapping = method == "cod"  # the fit is shared; only the last step differs
            forecast = cod.predict(Query(flops=compute))
            subset = forecast.extras["subset_questions"] / forecast.extras["questions"]
        lo, hi = forecast.interval
        rows.append({**base, "method": method, "predicted": forecast.predicted, "interval_low": lo,
                     "interval_high": hi, "abs_error": abs(forecast.predicted - actual), "subset_share": subset,
                     "note": ""})
    cols = ["task", "method", "target", "fit_models", "predicted", "interval_low", "interval_high", "actual",
            "abs_error", "subset_share", "note"]
    return pd.DataFrame(rows)[cols]
