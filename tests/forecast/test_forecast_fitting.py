import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.forecast.fitting import bootstrap, fit_curve, predict_with_interval


def power(theta, x):
    return theta[0] * x ** (-theta[1]) + theta[2]


BOUNDS = ([0, 0, 0], [10, 3, 10])


def test_fit_curve_recovers_known_law():
    x = np.logspace(0, 3, 25)
    y = power([2.0, 0.5, 1.0], x) + np.random.default_rng(0).normal(0, 0.002, 25)
    r = fit_curve(power, x, y, [1, 1, 0], ["a", "b", "c"], BOUNDS)
    assert r.as_dict() == pytest.approx({"a": 2.0, "b": 0.5, "c": 1.0}, abs=0.03)
    assert r.cov.shape == (3, 3) and np.all(np.diag(r.cov) > 0)


def test_multiple_starts_escape_a_bad_start():
    x = np.logspace(0, 3, 25)
    y = power([2.0, 0.5, 1.0], x)
    single = fit_curve(power, x, y, [9.9, 2.9, 9.9], ["a", "b", "c"], BOUNDS, n_starts=1)
    multi = fit_curve(power, x, y, [9.9, 2.9, 9.9], ["a", "b", "c"], BOUNDS, n_starts=12)
    assert multi.cost <= single.cost
    assert multi.params[1] == pytest.approx(0.5, abs=0.01)


def test_robust_loss_resists_outliers():
    x = np.linspace(0, 1, 40)
    y = 1.0 + 2.0 * x
    y[::8] += 3.0  # five gross outliers
    line = lambda t, x: t[0] + t[1] * x  # noqa: E731
    plain = fit_curve(line, x, y, [0, 0], ["c", "w"], ([-10, -10], [10, 10]))
    robust = fit_curve(line, x, y, [0, 0], ["c", "w"], ([-10, -10], [10, 10]), loss="soft_l1", f_scale=0.1)
    assert abs(robust.params[0] - 1.0) < abs(plain.params[0] - 1.0)
    assert robust.params == pytest.approx([1.0, 2.0], abs=0.1)


def test_bootstrap_and_delta_intervals_cover_the_truth():
    rng = np.random.default_rng(1)
    x = np.logspace(0, 3, 30)
    y = power([2.0, 0.5, 1.0], x) + rng.normal(0, 0.01, 30)
    r = fit_curve(power, x, y, [1, 1, 0], ["a", "b", "c"], BOUNDS)
    c, lo, hi = predict_with_interval(power, r, np.array([2000.0]))  # delta method
    truth = power([2.0, 0.5, 1.0], 2000.0)
    assert lo[0] < truth < hi[0] and hi[0] - lo[0] < 0.2
    bootstrap(power, x, y, r, n_boot=60, bounds=BOUNDS)
    assert r.samples.shape[1] == 3 and len(r.samples) >= 50
    c, lo, hi = predict_with_interval(power, r, np.array([2000.0]))
    assert lo[0] < truth < hi[0]


def test_too_few_points_is_a_clear_error():
    with pytest.raises(ProbecastError, match="1 point"):
        fit_curve(power, np.array([1.0]), np.array([2.0]), [1, 1, 0], ["a", "b", "c"], BOUNDS, what="toy")
    with pytest.raises(ProbecastError, match="non-finite"):
        fit_curve(power, np.arange(1.0, 5), np.array([1, np.nan, 2, 3]), [1, 1, 0], ["a", "b", "c"], BOUNDS)
