"""Task dynamics on generated runs with planted domain structure, plus the CLI on them."""

import numpy as np
import pandas as pd
import pytest

from probecast.cli import main
from probecast.dynamics.correlation import domain_correlation, task_correlation
from probecast.dynamics.leadlag import LeadLagConfig, half_progress, lead_lag
from probecast.dynamics.predict import LotoConfig, leave_one_task_out
from probecast.dynamics.scores import score_matrix
from probecast.errors import ProbecastError

STEPS = np.unique(np.geomspace(1, 100_000, 24).astype(int))


def planted_long(n_runs=5, seed=0, centres=(9.0, 10.0)):
    """Two domains of 4 tasks; every task = a + b * its domain's sigmoid in log10 tokens (centre per domain,
    shifted per run) + noise. Domain `exam QA` (arc_*, sciq, logiqa) rises a decade before `commonsense`."""
    rng = np.random.default_rng(seed)
    domains = {"exam QA": ["arc_easy", "arc_challenge", "sciq", "logiqa"],
               "commonsense & language": ["piqa", "winogrande", "wsc", "lambada_openai"]}
    rows = []
    for r in range(n_runs):
        shift = rng.normal(0, 0.2)
        for step in STEPS:
            tokens = step * 2e6  # log10 tokens 6.3 .. 11.3: both sigmoids complete
            for centre, tasks in zip(centres, domains.values()):
                latent = 1 / (1 + np.exp(-3 * (np.log10(tokens) - centre - shift)))
                wiggle = rng.normal(0, 0.02)  # shared within the domain at this checkpoint
                for k, task in enumerate(tasks):
                    value = 0.2 + 0.1 * k + (0.3 + 0.05 * k) * (latent + wiggle) + rng.normal(0, 0.005)
                    rows.append({"run": f"run{r}", "step": int(step), "tokens": tokens, "flops": np.nan,
                                 "params": np.nan, "metric": f"acc/{task}", "value": value})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def sm():
    return score_matrix(planted_long())


def test_score_matrix_and_domains(sm):
    assert len(sm.tasks) == 8 and len(sm.runs) == 5
    assert sm.domains["sciq"] == "exam QA" and sm.domains["piqa"] == "commonsense & language"


def test_within_domain_correlation_exceeds_cross_domain(sm):
    dc = domain_correlation(task_correlation(sm), sm.domains)
    assert dc.loc["exam QA", "exam QA"] > dc.loc["exam QA", "commonsense & language"]
    assert dc.loc["commonsense & language", "commonsense & language"] > 0.9


@pytest.mark.parametrize("split", ["run", "time"])
def test_loto_regression_beats_mean_of_domain(sm, split):
    loto = leave_one_task_out(sm, LotoConfig(split=split))
    assert len(loto) == 8
    assert (loto["mae_regression"] < loto["mae_mean_of_domain"]).all()
    assert loto["mae_regression"].mean() < 0.03


def test_loto_needs_a_domain_with_two_tasks():
    long = planted_long(n_runs=2)
    with pytest.raises(ProbecastError, match="two or more tasks"):
        leave_one_task_out(score_matrix(long, overrides={t: t for t in ["arc_easy", "arc_challenge", "sciq", "logiqa",
                                                                         "piqa", "winogrande", "wsc", "lambada_openai"]}))


def test_half_progress_of_a_known_curve():
    x = np.linspace(8, 12, 41)
    y = 0.25 + 0.5 / (1 + np.exp(-4 * (x - 10.3)))
    assert half_progress(x, y, 0.02) == pytest.approx(10.3, abs=0.05)
    assert np.isnan(half_progress(x, np.full_like(x, 0.25), 0.02))


def test_lead_lag_recovers_the_planted_decade(sm):
    table, t50 = lead_lag(sm, LeadLagConfig(n_boot=100))
    row = table.iloc[0]
    assert (row["leader"], row["follower"]) == ("exam QA", "commonsense & language")
    assert row["lag_decades"] == pytest.approx(1.0, abs=0.15)
    assert row["ci_low"] > 0.5 and row["p_leader_first"] == 1.0
    assert len(table) == 1 and t50.shape == (5, 2)


def test_bad_tables_get_clear_errors():
    long = planted_long(n_runs=1)
    with pytest.raises(ProbecastError, match="metrics present: acc"):
        score_matrix(long, metric="bpb")
    with pytest.raises(ProbecastError, match="fewer than 2 tasks"):
        score_matrix(long[long["metric"] == "acc/piqa"])


def test_cli_writes_the_report(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    planted_long(n_runs=3).to_csv(path, index=False)
    out = tmp_path / "dyn"
    main(["dynamics", "--runs", str(path), "--out", str(out), "--n-boot", "20"])
    for name in ("report.md", "report.html", "heatmap.png", "loto.png", "progress.png", "loto.csv", "leadlag.csv"):
        assert (out / name).stat().st_size > 0
    md = (out / "report.md").read_text()
    assert "leave one task out" in md and "| domain |" in md
    loto = pd.read_csv(out / "loto.csv")
    assert set(loto["task"]) == {"arc_easy", "arc_challenge", "sciq", "logiqa", "piqa", "winogrande", "wsc",
                                 "lambada_openai"}


def test_cli_bad_input_exits_2(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("run,step\nx,1\n")
    with pytest.raises(SystemExit) as exc:
        main(["dynamics", "--runs", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "missing column" in capsys.readouterr().err
