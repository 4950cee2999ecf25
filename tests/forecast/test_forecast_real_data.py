"""Issue 4 acceptance on the public runs in ../shared/data (skipped when absent).

The full tables (every task, intervals, deduped runs) come from benchmarks/forecast_real_data.py.
"""

from pathlib import Path

import pytest

from probecast.forecast.compare import compare_runs, compare_trajectories
from probecast.forecast.table import load_runs

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "checkpoint-evals"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"public runs not found at {DATA} (../shared/data)")


def test_olmo_ladder_and_flp_forecast_1b_within_3_points():
    table = load_runs([DATA / "olmo-ladder"])
    res = compare_runs(table, ["1B"], ["hellaswag", "arc_easy", "piqa"], methods=["ladder", "flp"],
                       configs={"ladder": {"n_boot": 0}, "flp": {"n_boot": 0}}, progress=False)
    assert set(res["run"]) == {"1B-0.5xC", "1B-1xC", "1B-1xC-rerun", "1B-2xC", "1B-5xC", "1B-10xC"}
    mae = res.groupby("method")["error"].apply(lambda e: e.abs().mean() * 100)
    assert mae["ladder"] < 3.0 and mae["flp"] < 3.0, mae.to_dict()


def test_pythia_trajectory_beats_naive_baselines_at_143k():
    table = load_runs([DATA / "pythia"])
    table = table[~table["run"].str.contains("deduped")]
    runs = sorted(table["run"].unique())
    assert len(runs) == 8
    res = compare_trajectories(table, runs, ["arc_easy", "piqa", "sciq", "lambada_openai"], 13000 * 2_097_152,
                               target_step=143000, forms=("power", "loglinear", "last"), progress=False)
    assert res["predicted"].notna().all()
    mae = res.groupby("form")["error"].apply(lambda e: e.abs().mean())
    assert mae["power"] < mae["last"] and mae["power"] < mae["loglinear"], mae.to_dict()
