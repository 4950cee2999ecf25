"""Every forecaster on tables generated from known laws: parameters recovered, forecasts on target."""

import numpy as np
import pandas as pd
import pytest

from probecast.errors import ProbecastError
from probecast.forecast.base import Forecast, Query, available, get_forecaster
from probecast.forecast.laws import SAT_POWER, SIGMOID_LOG, SIGMOID_SCORE
from probecast.forecast.synthetic import LadderTruth, ladder_table, trajectory_table

TRUTH = LadderTruth()
TARGET = dict(params=3.2e9, tokens=20 * 3.2e9)


def test_registry_lists_every_method():
    assert {"flp", "flpm", "ladder", "trajectory"} <= set(available())
    with pytest.raises(ProbecastError, match="unknown"):
        get_forecaster("nope")


def test_ladder_recovers_law_and_forecasts_larger_model():
    table = ladder_table(noise=0.002)
    f = get_forecaster("ladder", task="toy", n_boot=30, step1="free", step2="free").fit(table)
    assert f.step1_.params == pytest.approx(TRUTH.ladder, abs=0.12)
    assert f.step2_.params == pytest.approx(TRUTH.sigmoid, rel=0.1)
    fc = f.predict(Query(**TARGET))
    truth = TRUTH.score(np.array([TARGET["params"]]), np.array([TARGET["tokens"]]))[0]
    assert isinstance(fc, Forecast) and fc.predicted == pytest.approx(truth, abs=0.02)
    assert fc.interval[0] <= fc.predicted <= fc.interval[1]
    assert f.get_params()["task"] == "toy" and "step1" in f.fitted_params()
    # far backtests (fit up to each size, forecast the larger ones; from two sizes the five-parameter law is
    # loose): a small error on an exact law, and it only ever widens the interval
    assert 0 < f.backtest_error_ < 0.05
    plain = get_forecaster("ladder", task="toy", n_boot=30, calibrate=False, step1="free",
                           step2="free").fit(table).predict(Query(**TARGET))
    assert plain.predicted == fc.predicted and plain.interval[0] >= fc.interval[0] and plain.interval[1] <= fc.interval[1]
    assert fc.extras["horizon"] > 0 and fc.extras["forecastable"]


def test_ladder_default_bounded_fit_stays_in_range_and_forecasts():
    """The default (tied exponents, bounded sigmoid, helper point) still forecasts a known law closely, and its
    step-2 parameters respect their meaning: floor near chance, ceiling <= 1, positive slope."""
    table = ladder_table(noise=0.002)
    f = get_forecaster("ladder", task="toy", n_boot=0).fit(table)
    floor, ceil, k, _ = f.step2_.params
    assert 0.0 <= floor <= 0.3 and ceil <= 1.0 and k > 0
    truth = TRUTH.score(np.array([TARGET["params"]]), np.array([TARGET["tokens"]]))[0]
    assert f.predict(Query(**TARGET)).predicted == pytest.approx(truth, abs=0.03)


def test_bounded_sigmoid_falls_back_when_data_never_reach_the_inflection():
    """Accuracy still accelerating at the lowest loss seen: the free fit puts L0 beyond the data; the fallback
    keeps the inflection inside them, so the forecast at a far lower loss cannot race to the ceiling."""
    from probecast.forecast.laws import bounded_sigmoid_law, fit_law

    loss = np.linspace(1.2, 2.0, 40)
    acc = 0.25 + 0.75 / (1 + np.exp(6 * (loss - 0.9)))  # inflection at 0.9, below every loss seen
    free = fit_law(bounded_sigmoid_law(0.25), loss, acc)
    fallback = fit_law(bounded_sigmoid_law(0.25, inflection_in_data=True), loss, acc)
    assert free.params[3] < loss.min() and fallback.params[3] >= loss.min() - 1e-9
    far = np.array([0.6])
    assert bounded_sigmoid_law(0.25).fn(fallback.params, far)[0] < bounded_sigmoid_law(0.25).fn(free.params, far)[0]


def test_flp_recovers_power_law_and_linear_map():
    table = ladder_table(noise=0.001)
    f = get_forecaster("flp", task="toy_flp", n_boot=30).fit(table)
    assert f.loss_metric_ == "loss/val"
    assert f.stage1_.params == pytest.approx(TRUTH.power, abs=0.02)
    assert f.stage2_.params == pytest.approx(TRUTH.linear, abs=0.05)
    q = Query(**TARGET)
    truth = TRUTH.linear[0] + TRUTH.linear[1] * TRUTH.val_loss(np.array([q.compute]))[0]
    fc = f.predict(q)
    assert fc.predicted == pytest.approx(truth, abs=0.01)
    assert fc.interval[0] - 0.005 <= truth <= fc.interval[1] + 0.005
    assert f.predict(Query(flops=q.compute)).predicted == pytest.approx(fc.predicted)


def test_flp_sigmoid_and_irreducible_options_fit():
    table = ladder_table(noise=0.001)
    f = get_forecaster("flp", task="toy", loss_metric="bpb/toy", stage2="sigmoid", irreducible=True, n_boot=0)
    fc = f.fit(table).predict(Query(flops=1e19))
    assert 0.25 <= fc.predicted <= 0.85
    # the options are used, not just accepted: an E term in L(C), and the table's bpb -> acc sigmoid recovered
    assert len(f.stage1_.params) == 3 and f.fitted_params()["stage1"]["formula"].startswith("L(C) = E +")
    assert f.stage2_.params == pytest.approx(TRUTH.sigmoid, rel=0.05)


def test_flpm_maps_domain_losses_to_score():
    table = ladder_table(noise=0.001)
    f = get_forecaster("flpm", task="toy_flp", n_boot=0).fit(table)
    assert f.domains_ == ["loss/val", "loss/wiki"]
    for r in f.stage1_:  # each domain a power law of compute
        assert r.params[1] == pytest.approx(TRUTH.power[1], abs=0.01)
    q = Query(**TARGET)
    truth = TRUTH.linear[0] + TRUTH.linear[1] * TRUTH.val_loss(np.array([q.compute]))[0]
    assert f.predict(q).predicted == pytest.approx(truth, abs=0.02)


TOKENS = np.geomspace(1e9, 3e11, 14)


@pytest.mark.parametrize("law, theta, fit_until", [
    (SAT_POWER, (0.7, np.log(0.2), 0.4), 3e10),
    (SIGMOID_LOG, (0.25, 0.75, 1.5, -2.0), 3e10),
])
def test_trajectory_forms_recover_their_law(law, theta, fit_until):
    table = trajectory_table(lambda d: law.fn(np.array(theta), d), TOKENS, noise=0.002)
    f = get_forecaster("trajectory", task="toy", form=law.name, fit_until=fit_until, chance=0.0, n_boot=30)
    f.fit(table)
    assert f.result_.params == pytest.approx(theta, rel=0.15, abs=0.05)
    fc = f.predict(Query(tokens=3e11))
    assert fc.predicted == pytest.approx(law.fn(np.array(theta), np.array([3e11]))[0], abs=0.02)
    assert fc.interval[0] <= fc.predicted <= fc.interval[1]


def test_trajectory_baselines():
    table = trajectory_table(lambda d: 0.1 + 0.05 * np.log(d / 1e9), TOKENS)
    last = get_forecaster("trajectory", task="toy", form="last", fit_until=3e10).fit(table)
    seen = table[table["tokens"] <= 3e10]["value"].iloc[-1]
    assert last.predict(Query(tokens=3e11)).predicted == pytest.approx(seen)
    line = get_forecaster("trajectory", task="toy", form="loglinear", fit_until=3e10, n_boot=0).fit(table)
    assert line.predict(Query(tokens=3e11)).predicted == pytest.approx(0.1 + 0.05 * np.log(300), abs=1e-6)


def test_trajectory_pooled_uses_other_sizes():
    truth = lambda n, d: 0.25 + 0.6 / (1 + np.exp(-(1.0 - 0.3 * (n / 1e9) ** -0.3 - 0.3 * (d / 1e11) ** -0.3) * 3))  # noqa: E731
    table = pd.concat([trajectory_table(lambda d, n=n: truth(n, d), TOKENS, run=f"m{int(n / 1e6)}", params=n)
                       for n in (1e8, 3e8, 1e9, 3e9)])
    f = get_forecaster("trajectory", task="toy", run="m1000", form="pooled", fit_until=3e10, chance=0.25, n_boot=0)
    assert f.fit(table).predict(Query(tokens=3e11)).predicted == pytest.approx(truth(1e9, 3e11), abs=0.02)


def test_bad_inputs_get_clear_errors():
    single = ladder_table(sizes=(1e8,), multiples=(1,), n_checkpoints=1)
    with pytest.raises(ProbecastError, match="two model sizes"):
        get_forecaster("ladder", task="toy", n_boot=0).fit(single)
    with pytest.raises(ProbecastError, match="point"):
        get_forecaster("flp", task="toy_flp", n_boot=0).fit(single)
    with pytest.raises(ProbecastError, match="at least 2"):
        get_forecaster("trajectory", task="toy", form="power").fit(trajectory_table(lambda d: 0.5 + 0 * d, TOKENS[:1]))
    with pytest.raises(ProbecastError, match="no metric 'acc/nope'"):
        get_forecaster("ladder", task="nope").fit(ladder_table())
    no_params = ladder_table().assign(params=np.nan)
    with pytest.raises(ProbecastError, match="params"):
        get_forecaster("ladder", task="toy", n_boot=0).fit(no_params)
    with pytest.raises(ProbecastError, match="fit"):
        get_forecaster("ladder", task="toy").predict(Query(**TARGET))
    with pytest.raises(ProbecastError, match="missing column"):
        get_forecaster("flp", task="toy").fit(ladder_table().drop(columns=["flops"]))
    with pytest.raises(ProbecastError, match="non-positive"):
        get_forecaster("flp", task="toy").fit(ladder_table().assign(flops=0.0))


def test_trajectory_against_a_loss_recovers_the_sigmoid():
    theta = (0.6, 6.0, 1.5, 0.25)  # a, k, L0, b
    loss = np.linspace(2.5, 0.9, 14)
    tokens = np.geomspace(1e9, 3e11, 14)
    score = SIGMOID_SCORE.fn(np.array(theta), loss)
    table = pd.concat([trajectory_table(lambda d: score, tokens),
                       trajectory_table(lambda d: loss, tokens, task="x").assign(metric="loss/val")])
    f = get_forecaster("trajectory", task="toy", x="loss/val", form="sigmoid", fit_until=3e10, n_boot=0).fit(table)
    assert f.result_.params == pytest.approx(theta, rel=0.05)
    assert f.predict(Query(values={"loss/val": 0.9})).predicted == pytest.approx(score[-1], abs=0.01)
    with pytest.raises(ProbecastError, match="--form power with --x loss/val"):
        get_forecaster("trajectory", task="toy", x="loss/val", form="power").fit(table)
