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
