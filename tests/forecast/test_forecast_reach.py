"""Far-extrapolation backtests (forecast/reach.py) and the unforecastable flag they drive."""

import numpy as np
import pandas as pd
import pytest

from probecast.forecast.base import Query, get_forecaster
from probecast.forecast.compare import unforecastable
from probecast.forecast.reach import _cuts, horizon, size_backtest, size_backtest_rows
from probecast.forecast.synthetic import ladder_table


def test_horizon_is_the_largest_log_distance_beyond_the_fit_runs():
    fit = pd.DataFrame({"params": [1e8, 2e8], "tokens": [2e9, 4e9], "flops": [1.2e18, 4.8e18]})
    assert horizon(1.5e8, 1e18, fit, 3e9) == 0.0  # inside
    assert horizon(8e8, 6 * 8e8 * 1.6e10, fit, 1.6e10) == pytest.approx(np.log(4))  # 4x in N, on the budget line
    over = horizon(2e8, 6 * 2e8 * 4e10, fit, 4e10)  # same N, 10x the tokens per parameter
    assert over == pytest.approx(0.5 * np.log(10))


def test_backtest_cuts_by_size_and_by_budget_and_never_fit_on_their_targets():
    table = ladder_table(noise=0.002)
    cuts = _cuts(table, 2, 3)
    assert {c[0] for c in cuts} == {"size", "budget"}
    for _, _, fit_runs, targets in cuts:
        assert targets and not set(fit_runs) & set(targets)
    f = get_forecaster("ladder", task="toy", n_boot=0, calibrate=False).fit(table)
    rows = size_backtest_rows(f, table)
    assert rows and all(r["horizon"] > 0 for r in rows)
    bt = size_backtest(f, table)
    assert len(bt.errors) == len(rows) and 1 <= bt.dof <= len(rows)
    # an exact law extrapolates well: small errors, and the interval grows with the horizon
    assert np.sqrt(np.mean(np.square(bt.errors))) < 0.03
    assert bt.half_width(2.0, 0.9) > bt.half_width(0.5, 0.9) > 0


def test_a_task_whose_backtests_miss_widely_is_flagged():
    table = ladder_table(noise=0.002)
    rng = np.random.default_rng(0)
    noisy = table.copy()
    acc = noisy["metric"] == "acc/toy"
    noisy.loc[acc, "value"] = rng.uniform(0.3, 0.9, acc.sum())  # accuracy unrelated to scale
    f = get_forecaster("ladder", task="toy", n_boot=0).fit(noisy)
    fc = f.predict(Query(params=3.2e9, tokens=6.4e10))
    assert not fc.extras["forecastable"] and fc.interval[1] - fc.interval[0] > 0.2
    good = get_forecaster("ladder", task="toy", n_boot=0).fit(table).predict(Query(params=3.2e9, tokens=6.4e10))
    assert good.extras["forecastable"]
    res = pd.DataFrame([dict(method="ladder", task="toy", predicted=fc.predicted, forecastable=False),
                        dict(method="flp", task="toy", predicted=0.5, forecastable=True)])
    assert unforecastable(res) == [("ladder", "toy")]
