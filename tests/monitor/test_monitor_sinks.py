"""Sinks: one interface, the same metric names everywhere; the JSONL log survives a kill mid-write."""

from __future__ import annotations

import importlib.util
import json

import pytest

from probecast.errors import ProbecastError
from probecast.monitor.sinks import JSONLSink, jsonl_path, make_sinks, metrics_of, read_jsonl, repair_jsonl
from probecast.workspace import Workspace


def records(step: int, eval_id: str = "e") -> list[dict]:
    return [{"checkpoint": f"step-{step}", "step": step, "task": t, "pred_pass1": p, "pred_pass1_lo": p - 0.1,
             "pred_pass1_hi": p + 0.1, "latency_s": 0.5, "eval_id": f"{eval_id}{step}", "n_records": 2,
             **({"audit_pass1": 0.25} if t == "add" else {})} for t, p in (("add", 0.3), ("copy", 0.6))]


def test_metric_names():
    m = metrics_of(records(5), eval_latency_s=1.5)
    assert m == pytest.approx({"probecast/eval_latency_s": 1.5, "probecast/add/pred_pass1": 0.3, "probecast/add/pred_pass1_lo": 0.2,
                 "probecast/add/pred_pass1_hi": 0.4, "probecast/add/audit_pass1": 0.25, "probecast/add/latency_s": 0.5,
                 "probecast/copy/pred_pass1": 0.6, "probecast/copy/pred_pass1_lo": 0.5,
                 "probecast/copy/pred_pass1_hi": 0.7, "probecast/copy/latency_s": 0.5})


def test_jsonl_repair_cuts_a_partial_line_and_an_unfinished_evaluation(tmp_path):
    ws = Workspace(tmp_path)
    sink = JSONLSink(ws)
    sink.log(1, {}, records(1))
    sink.log(2, {}, records(2))
    path = jsonl_path(ws)
    good = path.read_text()
    third = records(3)
    with open(path, "a") as f:  # killed after the first record of an evaluation and half of the second
        f.write(json.dumps(third[0]) + "\n" + json.dumps(third[1])[:20])
    repair_jsonl(path)
    assert path.read_text() == good
    with open(path, "a") as f:  # killed between two whole records of one evaluation
        f.write(json.dumps(third[0]) + "\n")
    JSONLSink(ws)  # opening the log repairs it
    assert path.read_text() == good
    assert [(r["step"], r["task"]) for r in read_jsonl(path)] == [(1, "add"), (1, "copy"), (2, "add"), (2, "copy")]


def test_unknown_or_missing_sink_is_a_clear_error(tmp_path):
    with pytest.raises(ProbecastError, match="unknown sink"):
        make_sinks(Workspace(tmp_path), ["nope"], "run")


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed (optional tracker)")
def test_mlflow_local_file_store(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ws = Workspace(tmp_path)
    [_, sink] = make_sinks(ws, ["mlflow"], "mlrun")
    for step in (3, 6):
        sink.log(step, metrics_of(records(step), 1.0), records(step))
    run_id = sink.run.info.run_id
    sink.close()
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "monitor" / "mlruns").resolve().as_uri())
    hist = client.get_metric_history(run_id, "probecast/copy/pred_pass1")
    assert [(m.step, m.value) for m in hist] == [(3, 0.6), (6, 0.6)]
    assert {m.step for m in client.get_metric_history(run_id, "probecast/add/audit_pass1")} == {3, 6}


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed (optional tracker)")
def test_wandb_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    ws = Workspace(tmp_path)
    [_, sink] = make_sinks(ws, ["wandb"], "wbrun")
    for step in (3, 6):
        sink.log(step, metrics_of(records(step), 1.0), records(step))
    assert sink.run.summary["probecast/add/pred_pass1"] == pytest.approx(0.3)
    assert sink.run.summary["probecast/step"] == 6
    sink.close()
    assert list((tmp_path / "monitor" / "wandb").glob("offline-run-*/run-*.wandb"))
