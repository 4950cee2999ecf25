"""End to end, in CI: the quick embedded run → labels → features → probes → metrics, through the CLI."""

import json
import math

import pytest

from probecast.cli import main


def run_cli(*args):
    try:
        main(list(args))
    except SystemExit as exc:
        assert exc.code in (0, None), f"probecast {' '.join(args)} exited {exc.code}"


def test_quick_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    run_cli("demo", "--quick", "--questions", "24", "--out", str(out))
    summary = json.loads((out / "summary.json").read_text())
    for key in ("checkpoints", "train_checkpoints", "test_checkpoints", "tasks", "probes", "best_probe",
                "baselines", "latency_s", "split"):
        assert key in summary, key
    assert len(summary["checkpoints"]) >= 6
    assert max(summary["train_checkpoints"]) < min(summary["test_checkpoints"])  # earlier predicts later
    assert set(summary["baselines"]) >= {"carry_forward", "answer_loglik", "text_difficulty"}
    best = summary["probes"][summary["best_probe"]]
    for k in ("auroc_mean", "brier_mean", "task_abs_err_mean"):
        assert best[k] is not None and math.isfinite(best[k])
    lat = summary["latency_s"]
    # timings are measured, not asserted (they are benchmark figures): present and positive
    assert all(lat[k] > 0 for k in ("generative", "probe", "prefill_floor"))
    assert summary["split"]["n_test_questions"] > 0 and (out / summary["plot"]).is_file()
    stages = summary["demo"]["stage_seconds"]
    assert list(stages) == ["train", "labels", "features", "evaluate", "latency"]
    assert all(v >= 0 for v in stages.values()) and sum(stages.values()) <= summary["demo"]["wall_time_s"] + 0.5
    assert {"python", "torch", "transformers", "probecast"} <= set(summary["demo"]["versions"])
    assert len(list((out / "run").glob("step-*"))) >= 6
    # the demo folder is a complete workspace for the other commands
    run_cli("predict", "--ws", str(out), "--probe", summary["best_probe"], "--checkpoints",
            summary["checkpoints"] and f"step-{summary['checkpoints'][-1]}")
    assert list((out / "predictions" / summary["best_probe"]).glob("step-*/*.parquet"))
    # `evaluate --ws` with no options reuses the demo's recorded split and reproduces its numbers
    run_cli("evaluate", "--ws", str(out))
    again = json.loads((out / "summary.json").read_text())
    assert again["train_checkpoints"] == summary["train_checkpoints"] and again["split"] == summary["split"]
    for kind in ("probes", "baselines"):
        assert set(again[kind]) == set(summary[kind])
        for name, block in summary[kind].items():
            for metric in ("auroc_mean", "brier_mean", "ece_mean", "task_abs_err_mean", "spearman_mean"):
                assert again[kind][name][metric] == pytest.approx(block[metric], abs=1e-6, nan_ok=True), (name, metric)
    assert again["best_probe"] == summary["best_probe"] and again["latency_s"] == summary["latency_s"]
    # another split is refused, naming the recorded split option and --force; the summary stays as it was
    before = (out / "summary.json").read_bytes()
    capsys.readouterr()  # what the runs above printed
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--ws", str(out), "--n-train", "2"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--train-checkpoints" in err[0] and "--force" in err[0], err
    assert (out / "summary.json").read_bytes() == before


def test_bad_input_gets_one_line_error(tmp_path, capsys):
    for args, needle in [
        (["label", str(tmp_path / "missing"), "--ws", str(tmp_path / "w"), "--tasks", "add"], "no such checkpoint folder"),
        (["label", str(tmp_path), "--ws", str(tmp_path / "w"), "--tasks", "add"], "no checkpoints found"),
        (["train-toy", "--out", str(tmp_path / "r"), "--size", "huge"], "'--size': 'huge' is not one of xs, s"),
        (["label", str(tmp_path), "--ws", str(tmp_path / "w"), "--tasks", "nope"], "unknown task 'nope'"),  # tasks first
    ]:
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and needle in err[0], err


def test_usage_error_is_not_a_traceback(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["extract", "--bogus-option"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
