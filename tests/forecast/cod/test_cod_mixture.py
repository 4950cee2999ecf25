"""The mixture law of a COD cluster (mean of the law over a log-normal spread of a) and its estimate of σ."""

import numpy as np
import pytest

from probecast.forecast.base import Query
from probecast.forecast.cod.data import question_matrix
from probecast.forecast.cod.forecaster import CODForecaster
from probecast.forecast.cod.law import cluster_law, fit_law
from probecast.forecast.cod.mixture import estimate_sigma, mixture_jacobian, mixture_law
from probecast.forecast.cod.shrink import b_variance
from probecast.forecast.cod.synthetic import PlantedSeries
from probecast.forecast.fitting import numerical_gradient

C = np.array([1.0, 6.25, 25.0, 100.0, 625.0])  # five models, compute in units of the smallest
TARGET = 15625.0                                 # 25x the largest


def test_sigma_zero_is_the_plain_law():
    grid = np.geomspace(1, 1e5, 30)
    for a, b, c, g in [(2.0, 0.6, 0.05, 0.0), (60.0, 0.8, 0.3, 0.25)]:
        np.testing.assert_allclose(mixture_law(grid, a, b, c, 0.0, g), cluster_law(grid, a, b, c, g), atol=1e-12)
        assert cluster_law(grid, a, b, c, g, sigma=0.0) is not None


@pytest.mark.parametrize("sigma", [0.3, 0.8, 1.5])
def test_quadrature_matches_a_monte_carlo_mean(sigma):
    rng = np.random.default_rng(0)
    a_i = 20.0 * np.exp(sigma * rng.standard_normal(400_000))
    grid = np.array([1.0, 30.0, 625.0, TARGET])
    mc = np.exp(-a_i[:, None] * grid[None, :] ** -0.6 - 0.05).mean(axis=0)
    np.testing.assert_allclose(mixture_law(grid, 20.0, 0.6, 0.05, sigma), mc, atol=2e-3)
    # and through cluster_law, with a chance level
    np.testing.assert_allclose(cluster_law(grid, 20.0, 0.6, 0.05, 0.25, sigma), 0.25 + 0.75 * mc, atol=2e-3)


def test_jacobian_matches_finite_differences():
    a, b, c, s = 15.0, 0.55, 0.1, 0.4
    numeric = numerical_gradient(lambda p: mixture_law(C, p[0], p[1], c, s), np.array([a, b]))
    np.testing.assert_allclose(mixture_jacobian(C, a, b, c, s), numeric, rtol=1e-4, atol=1e-8)
    se = np.full(len(C), 1e-2)
    assert np.isfinite(b_variance(C, np.array([a, b, c]), se, sigma=s))


def _cluster(jitter: float, seed: int):
    df, _ = PlantedSeries(laws=[(20.0, 0.5, 0.0)], sizes=[200], compute=list(1e17 * C), jitter=jitter,
                          seed=seed).rows()
    return question_matrix(df, "synthetic")


def test_estimate_sigma_reads_the_spread_off_the_counts():
    for jitter in (0.2, 0.5):
        m = _cluster(jitter, 0)
        s = estimate_sigma(C, m.c, m.n, fit_law(C, m.pass_rate.mean(axis=0)).params)
        assert s == pytest.approx(jitter, abs=0.1)
    zeros = np.zeros((30, len(C)))
    assert estimate_sigma(C, zeros, zeros + 100, np.array([1e3, 0.5, 0.0])) == 0.0  # nothing to see


@pytest.mark.parametrize("seed", [0, 1])
def test_mixture_fit_extrapolates_a_scattered_cluster_better(seed):
    """Questions scattered in a only: the plain law fitted to the mean curve takes its early, slow rise for a
    small b and falls short at 25x the largest compute; the mixture law with σ from the counts does not."""
    m = _cluster(0.5, seed)
    y = m.pass_rate.mean(axis=0)
    truth = mixture_law(TARGET, 20.0, 0.5, 0.0, 0.5)
    plain = fit_law(C, y)
    s = estimate_sigma(C, m.c, m.n, plain.params)
    mix = fit_law(C, y, sigma=s)
    assert plain.params[1] < mix.params[1]
    assert abs(cluster_law(TARGET, *mix.params, 0.0, s) - truth) < abs(cluster_law(TARGET, *plain.params) - truth)


def test_forecaster_with_mixture_reports_each_clusters_sigma():
    laws = [(1.0, 0.5, 0.0), (5.0, 0.5, 0.0), (20.0, 0.5, 0.0)]
    df, _ = PlantedSeries(laws=laws, sizes=[60] * 3, compute=list(1e17 * C), jitter=0.3, seed=0).rows()
    query = Query(flops=1e17 * TARGET)
    fc = CODForecaster(n_boot=5, calibrate=False, mixture=True).fit(df).predict(query)
    plain = CODForecaster(n_boot=0, calibrate=False).fit(df).predict(query)
    sigmas = [r["sigma"] for r in fc.extras["clusters"]]
    assert all(0.0 <= s < 1.0 for s in sigmas) and max(sigmas) > 0.1
    assert all(r["sigma"] == 0.0 for r in plain.extras["clusters"])
    assert fc.interval[0] <= fc.predicted <= fc.interval[1]
    assert abs(fc.predicted - plain.predicted) < 0.05
