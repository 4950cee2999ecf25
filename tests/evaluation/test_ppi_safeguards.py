"""benchmarks/ppi_safeguards.py: the pseudo-observations' predictions, three ways; all Agresti–Coull at λ = 0."""

from statistics import NormalDist

import numpy as np
import pytest

from benchmark_module import load_benchmark

sg = load_benchmark("ppi_safeguards")
Z = NormalDist().inv_cdf(0.95)


def test_every_safeguard_is_agresti_coull_without_the_probe_and_they_widen_in_order_with_it():
    rng = np.random.default_rng(0)
    f_all = np.concatenate([rng.uniform(0.0, 0.1, 60), rng.uniform(0.9, 1.0, 40)])  # a confident probe
    idx = rng.choice(100, 20, replace=False)
    y = (rng.random(100) < f_all).astype(float)[idx]
    base = sg.se_of("mean", y, f_all[idx], f_all, 0.0, Z)
    for s in sg.SAFEGUARDS:
        assert sg.se_of(s, y, f_all[idx], f_all, 0.0, Z) == pytest.approx(base)
    se = [sg.se_of(s, y, f_all[idx], f_all, 0.9, Z) for s in sg.SAFEGUARDS]  # mean, random, extreme
    assert se[0] < se[1] < se[2]
