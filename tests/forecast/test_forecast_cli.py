"""`probecast forecast ...` end to end on generated tables: JSON keys are a contract (issue 4)."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from probecast.cli import app
from probecast.forecast.laws import SAT_POWER
from probecast.forecast.synthetic import ladder_table, trajectory_table

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "checkpoint-evals"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"public runs not found at {DATA} (../shared/data)")
runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, ["forecast", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture()
def ladder_csv(tmp_path):
    path = tmp_path / "ladder.csv"
    ladder_table(noise=0.002).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("method", ["ladder", "flp", "flpm"])
def test_cross_run_json_contract(method, ladder_csv, tmp_path):
    task = "toy" if method == "ladder" else "toy_flp"
    plot = tmp_path / f"{method}.png"
    out = json.loads(invoke(method, "--runs", ladder_csv, "--task", task, "--target-params", "3.2e9",
                            "--target-tokens", "6.4e10", "--n-boot", "0", "--json", "--plot", plot))
    assert out["method"] == method and out["task"] == task
    assert out["target"] == {"params": 3.2e9, "tokens": 6.4e10, "flops": 6 * 3.2e9 * 6.4e10}
    lo, hi = out["interval"]
    assert lo <= out["predicted"] <= hi
    assert plot.stat().st_size > 1000


def test_target_flops_is_used_as_compute(ladder_csv):
    base = ["flp", "--runs", ladder_csv, "--task", "toy_flp", "--target-params", "3.2e9", "--target-tokens", "6.4e10",
            "--n-boot", "0", "--json"]
    default = json.loads(invoke(*base))
    given = json.loads(invoke(*base, "--target-flops", "1e19"))
    assert given["target"]["flops"] == 1e19 and given["predicted"] != default["predicted"]


def test_trajectory_json_has_every_later_checkpoint(tmp_path):
    tokens = np.geomspace(1e9, 3e11, 12)
    path = tmp_path / "traj.csv"
    trajectory_table(lambda d: SAT_POWER.fn(np.array([0.7, np.log(0.2), 0.4]), d), tokens, run="r1").to_csv(path)
    out = json.loads(invoke("trajectory", "--runs", path, "--run", "r1", "--task", "toy", "--fit-until-tokens", "3e10",
                            "--n-boot", "20", "--json", "--plot", tmp_path / "t.png"))
    later = tokens[tokens > 3e10]
    assert out["method"] == "trajectory" and out["target"]["run"] == "r1"
    assert [p["tokens"] for p in out["predictions"]] == pytest.approx(list(later))
    for p in out["predictions"]:
        assert set(p) >= {"step", "tokens", "predicted", "interval"}
        assert p["predicted"] == pytest.approx(p["actual"], abs=0.03)
    assert out["predicted"] == out["predictions"][-1]["predicted"]


def test_compare_prints_error_table(ladder_csv):
    out = json.loads(invoke("compare", "--runs", ladder_csv, "--task", "toy", "--holdout", "800M", "--json"))
    assert set(out["mae_points"]) == {"ladder", "flp", "flpm", "auto"}
    assert out["mae_points"]["ladder"]["toy"] < 3.0 and out["mae_points"]["auto"]["toy"] < 3.0
    assert isinstance(out["unforecastable"], list)


def test_auto_json_contract_weights_members_by_backtest(ladder_csv):
    out = json.loads(invoke("auto", "--runs", ladder_csv, "--task", "toy", "--target-params", "3.2e9",
                            "--target-tokens", "6.4e10", "--n-boot", "0", "--method", "ladder", "--method",
                            "flp-sigmoid", "--json"))
    members = out["members"]
    assert set(members) == {"ladder", "flp-sigmoid"}
    assert sum(m["weight"] for m in members.values()) == pytest.approx(1.0)
    assert out["predicted"] == pytest.approx(sum(m["weight"] * m["predicted"] for m in members.values()))
    lo, hi = out["interval"]
    assert lo <= out["predicted"] <= hi and out["horizon"] > 0 and out["backtests"] > 0
    assert isinstance(out["forecastable"], bool)


def test_bad_input_exits_with_one_line_error(tmp_path):
    from probecast.cli import main

    bad = tmp_path / "bad.csv"
    ladder_table().drop(columns=["params"]).to_csv(bad, index=False)
    with pytest.raises(SystemExit) as exc:
        main(["forecast", "ladder", "--runs", str(bad), "--task", "toy", "--target-params", "1e9",
              "--target-tokens", "1e10"])
    assert exc.value.code == 2


@needs_data
def test_real_ladder_cli_on_olmo_runs():
    d = DATA / "olmo-ladder"
    out = json.loads(invoke("ladder", "--runs", d, "--exclude", "1B", "--task", "hellaswag",
                            "--target-params", "1279395840", "--target-tokens", "255895535616",
                            "--target-flops", "2.5868662302475654e21", "--n-boot", "0", "--json"))
    assert "1B-10xC" not in out["runs"] and abs(out["predicted"] - 0.645) < 0.03


def test_trajectory_on_an_lm_eval_sweep(tmp_path):
    curve = lambda d: SAT_POWER.fn(np.array([0.8, np.log(0.1), 0.5]), d)  # noqa: E731
    for step in (1000, 2000, 4000, 8000, 16000, 32000):
        folder = tmp_path / "sweep" / f"step{step}"
        folder.mkdir(parents=True)
        (folder / "results_x.json").write_text(json.dumps(
            {"results": {"piqa": {"acc,none": float(curve(step * 4e6))}}, "config": {"model_args": "pretrained=m"}}))
    out = json.loads(invoke("trajectory", "--runs", tmp_path / "sweep", "--run", "sweep", "--task", "piqa",
                            "--tokens-per-step", "4e6", "--fit-until-tokens", str(8000 * 4e6), "--n-boot", "0",
                            "--form", "power", "--json"))
    assert [p["step"] for p in out["predictions"]] == [16000, 32000]
    assert out["predicted"] == pytest.approx(curve(32000 * 4e6), abs=0.01)
