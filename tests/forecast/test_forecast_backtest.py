"""Interval widening by backtests inside the fit data: a wrong law form must get a wider interval that covers the
truth, a right one a narrow widening, and no point forecast may move."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from probecast.forecast.backtest import Backtest
from probecast.forecast.base import Query, get_forecaster
from probecast.forecast.cod.forecaster import CODForecaster, EndToEndForecaster
from probecast.forecast.cod.data import question_matrix, validate_question_table
from probecast.forecast.cod.synthetic import PlantedSeries
from probecast.forecast.laws import SAT_POWER
from probecast.forecast.synthetic import trajectory_table

TOKENS = np.geomspace(1e9, 3e11, 14)
CEILINGS = {"r0": 0.6, "r1": 0.7, "r2": 0.8}  # three runs of one saturating law, y = c - 0.05 (D / 1e11)^-0.5


def saturating(c: float):
    return lambda d: SAT_POWER.fn(np.array([c, np.log(0.05), 0.5]), d)


def test_backtest_spread_grows_with_the_horizon_and_uses_a_t_quantile():
    bt = Backtest()
    for h, e in [(1.0, 0.02), (2.0, -0.04), (0.5, 0.01), (0.0, 9.0), (1.0, np.nan)]:  # last two are not backtests
        bt.add(h, e)
    assert bt.errors == [0.02, -0.04, 0.01]
    assert bt.sd(0.0) == 0.0 and bt.sd(3.0) == pytest.approx(3 * 0.02)  # every error is 0.02 per log unit
    assert bt.half_width(3.0, 0.9) == pytest.approx(stats.t.ppf(0.95, 3) * 0.06)
    lo, hi = bt.widen(0.5, 0.49, 0.52, 3.0, 0.9)
    assert lo < 0.49 and hi > 0.52 and 0.5 - lo == pytest.approx(np.hypot(0.01, bt.half_width(3.0, 0.9)))
    assert bt.widen(0.5, 0.49, 0.52, 0.0, 0.9) == (0.49, 0.52)  # inside the data: the bootstrap speaks alone
    assert Backtest().widen(0.5, 0.49, 0.52, 3.0, 0.9) == (0.49, 0.52)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return pd.concat([trajectory_table(saturating(c), TOKENS, run=r, noise=0.003, seed=i)
                      for i, (r, c) in enumerate(CEILINGS.items())])


def _trajectory(runs: pd.DataFrame, form: str, calibrate: bool):
    f = get_forecaster("trajectory", task="toy", run="r1", form=form, fit_until=3e10, chance=0.0, n_boot=30,
                       calibrate=calibrate).fit(runs)
    return f, f.predict(Query(tokens=3e11))


def test_trajectory_with_the_wrong_form_gets_an_interval_that_covers(runs):
    truth = saturating(CEILINGS["r1"])(np.array([3e11]))[0]
    _, plain = _trajectory(runs, "loglinear", calibrate=False)  # a line in ln D keeps rising; the truth saturates
    f, wide = _trajectory(runs, "loglinear", calibrate=True)
    assert len(f.backtest_.errors) == 3  # one backtest per run of the table
    assert wide.predicted == plain.predicted
    assert not plain.interval[0] <= truth <= plain.interval[1]  # bootstrap alone: confidently wrong
    assert wide.interval[0] <= truth <= wide.interval[1]
    assert wide.interval[0] < plain.interval[0] and wide.interval[1] >= plain.interval[1]


def test_trajectory_with_the_right_form_is_widened_less(runs):
    truth = saturating(CEILINGS["r1"])(np.array([3e11]))[0]
    _, right = _trajectory(runs, "power", calibrate=True)
    _, wrong = _trajectory(runs, "loglinear", calibrate=True)
    assert right.interval[0] <= truth <= right.interval[1]
    assert right.extras["extrapolation_sd"] < wrong.extras["extrapolation_sd"] / 3
    assert np.diff(right.interval)[0] < np.diff(wrong.interval)[0] / 2
    inside = _trajectory(runs, "power", calibrate=True)[0].predict(Query(tokens=TOKENS[3]))
    assert inside.extras["extrapolation_sd"] == 0.0  # no widening inside the fitted checkpoints


@pytest.fixture(scope="module")
def series():
    df, _ = PlantedSeries(n_outliers=15, compute=[1e17 * 2.0 ** i for i in range(9)]).rows()
    df = validate_question_table(df, "planted")
    target = df[df["model"] == "m8"]
    return question_matrix(df[df["model"] != "m8"], "synthetic"), float((target["c"] / target["n"]).mean())


@pytest.mark.parametrize("cls", [EndToEndForecaster, CODForecaster])
def test_series_backtest_widens_the_question_bootstrap_to_cover(series, cls):
    """End-to-end fits one law to a mixture of difficulty clusters (the wrong form), and both miss the held-out
    model with the question bootstrap alone; the leave-largest-models-out backtest makes them cover it."""
    m, actual = series
    query = Query(flops=1e17 * 2.0 ** 8)
    plain = cls(n_boot=20, calibrate=False).fit_matrix(m).predict(query)
    f = cls(n_boot=20).fit_matrix(m)
    wide = f.predict(query)
    assert len(f.backtest_fits_) == 3 and len(wide.extras["backtest"]["errors"]) == 3
    assert wide.predicted == plain.predicted
    assert not plain.interval[0] <= actual <= plain.interval[1]
    assert wide.interval[0] <= actual <= wide.interval[1]
    assert wide.interval[1] - wide.interval[0] < 0.35


def test_series_backtest_needs_enough_models(series):
    m, _ = series
    f = EndToEndForecaster(n_boot=0).fit_matrix(m.smallest(3))  # no model can be left out of three
    assert f.backtest_fits_ == [] and f.predict(Query(flops=1e19)).interval[0] == f.predict(Query(flops=1e19)).predicted
