"""Drift test (CUSUM on audit residuals) and the refit it triggers: new version beside the old, event logged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from probecast.monitor.drift import CusumDrift, CusumState, DriftConfig
from probecast.monitor.refit import next_version, refit_probe, training_data
from probecast.probes.base import load_probe
from probecast.workspace import Workspace


def test_cusum_hand_computed_and_both_directions():
    d = CusumDrift(DriftConfig(k=0.5, h=4.0))
    # z = 0.1 / 0.05 = 2 per audit: S+ = 1.5, 3.0, 4.5 -> fires on the third audit
    assert d.update({"a": (0.1, 0.05)}) == []
    assert d.update({"a": (0.1, 0.05)}) == []
    assert d.statistic("a") == pytest.approx(3.0)
    assert d.update({"a": (0.1, 0.05)}) == ["a"]
    d.reset()
    assert d.statistic("a") == 0
    fired = [d.update({"b": (-0.2, 0.05), "c": (0.01, 0.05)}) for _ in range(2)]  # z = -4: S- = 3.5, 7.0
    assert fired == [[], ["b"]]


def test_cusum_in_control_rarely_fires_and_state_round_trips():
    rng = np.random.default_rng(0)
    d = CusumDrift()
    alarms = 0
    for _ in range(200):
        if d.update({"t": (rng.normal(0, 0.05), 0.05)}):
            alarms += 1
            d.reset()
    assert alarms <= 4  # textbook in-control run length ≈ 168 per side
    restored = CusumDrift(state=CusumState.from_dict(json.loads(json.dumps(d.state.to_dict()))))
    assert restored.statistic("t") == d.statistic("t")
    assert d.z(0.0, 0.0) == 0 and d.z(0.1, 0.0) == pytest.approx(0.1 / DriftConfig().se_floor)


def test_refit_uses_full_labels_plus_audits_and_keeps_the_old_version(monitor_ws):
    ws = Workspace(monitor_ws, create=False)
    ckpts = [r["id"] for r in ws.read_checkpoints()]
    last, task = ckpts[-1], "add"
    full = pd.read_parquet(ws.labels_path(last, task))
    ws.labels_path(last, task).unlink()  # pretend the last checkpoint is known only through an audit
    audit = full.iloc[:3].drop(columns=["completions"], errors="ignore")
    path = ws.monitor_dir / "audit" / last / f"{task}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    audit.to_parquet(path)
    X, y, info = training_data(ws)
    assert info["audit_rows"] == 3 and info["audited_checkpoints"] == [last]
    assert len(X) == len(y) == info["rows"] == info["label_rows"] + 3
    rows = np.flatnonzero((X.checkpoint == last) & (X.task == task))
    assert sorted(X.question_ids[rows]) == sorted(audit["question_id"])
    assert np.allclose(y[rows], audit.set_index("question_id").loc[X.question_ids[rows], "pass1"])
    old = load_probe(ws.probe_dir("ridge"))
    before = (ws.probe_dir("ridge") / "weights.safetensors").read_bytes()
    name, directory, model, meta = refit_probe(ws, old, "ridge")
    assert name == "ridge-refit1" and (directory / "refit.json").exists() and meta["refit_of"] == "ridge"
    assert model.name == old.name and model.get_params() == old.get_params()
    assert (ws.probe_dir("ridge") / "weights.safetensors").read_bytes() == before
    assert next_version(ws, name) == "ridge-refit2"


def test_watch_refit_on_drift_end_to_end(monitor_ws, tiny_run):
    """A real watcher over the tiny run with audits on checkpoints 0 and 2; a drift test that always fires
    (h < 0) refits twice: versions ridge-refit1, -refit2 beside ridge, events in events.jsonl, the report
    lists them, every audited record carries the PPI estimate and interval."""
    from probecast.monitor.audit import AuditConfig
    from probecast.monitor.evaluator import Monitor, MonitorConfig
    from probecast.monitor.refit import events_path
    from probecast.monitor.sinks import jsonl_path, read_jsonl
    from probecast.monitor.watcher import WatchConfig, Watcher
    from probecast.report.data import load_report_data

    cfg = MonitorConfig(probe="ridge", sinks=(), n_boot=50, save_features=True, refit_on_drift=True,
                        audit=AuditConfig(every=2, questions=4, samples=2), drift=DriftConfig(h=-1.0))
    Watcher(Monitor(monitor_ws, cfg), tiny_run, WatchConfig(once=True, settle=0.1)).run()
    ws = Workspace(monitor_ws, create=False)
    records = read_jsonl(jsonl_path(ws))
    steps = sorted({r["step"] for r in records})
    versions = {r["step"]: r["probe_version"] for r in records}
    assert versions == {steps[0]: "ridge", steps[1]: "ridge-refit1", steps[2]: "ridge-refit1"}
    assert all(r["probe"] == "ridge" for r in records)
    for r in records:
        if r["step"] in (steps[0], steps[2]):
            assert r["ppi_n_labels"] == 4 and r["ppi_lo"] <= r["ppi_estimate"] <= r["ppi_hi"]
            assert 0 <= r["ppi_lam"] <= 1 and "drift_cusum" in r
        else:
            assert "ppi_estimate" not in r
    events = [json.loads(line) for line in events_path(ws).read_text().splitlines()]
    assert [(e["from"], e["to"]) for e in events] == [("ridge", "ridge-refit1"), ("ridge-refit1", "ridge-refit2")]
    assert events[1]["audit_rows"] == 0  # every audited checkpoint also has full labels here: counted once
    for v in ("ridge", "ridge-refit1", "ridge-refit2"):
        assert (ws.probe_dir(v) / "config.json").exists()
    assert load_report_data(ws).events == events
    from probecast.report.html import render

    html = render(load_report_data(ws))
    assert 'id="refits"' in html and "ridge-refit2" in html and 'data-col="ppi_estimate"' in html
    resumed = Monitor(monitor_ws, cfg)  # a restarted monitor continues with the newest version
    assert resumed.version == "ridge-refit2"
    resumed.close()
