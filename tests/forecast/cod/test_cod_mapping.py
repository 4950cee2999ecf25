"""The subset -> full mapping is monotone and passes through (0, 0) and (1, 1), whatever the anchors."""

import numpy as np
import pytest

from probecast.errors import ProbecastError
from probecast.forecast.cod.mapping import MonotoneMapping


@pytest.mark.parametrize("seed", range(5))
def test_mapping_is_monotone_through_the_corners(seed):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.05, 0.9, 6))
    y = np.clip(x + rng.normal(0, 0.15, 6), 0, 1)  # noisy, often non-monotone anchors
    m = MonotoneMapping(degree=4).fit(x, y)
    grid = np.linspace(0, 1, 1001)
    f = m.predict(grid)
    assert np.all(np.diff(f) >= -1e-9)
    assert f[0] == pytest.approx(0, abs=1e-9) and f[-1] == pytest.approx(1, abs=1e-9)


def test_mapping_fits_a_smooth_monotone_relation():
    x = np.linspace(0.1, 0.8, 8)
    y = x ** 0.7
    m = MonotoneMapping(degree=4, ridge=0.0).fit(x, y)
    assert np.abs(m.predict(x) - y).max() < 0.03


def test_mapping_errors():
    with pytest.raises(ProbecastError, match="before predict"):
        MonotoneMapping().predict(0.5)
    with pytest.raises(ProbecastError, match=r"\[0, 1\]"):
        MonotoneMapping().fit(np.array([0.2, 1.4]), np.array([0.1, 0.5]))
