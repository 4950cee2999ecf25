"""A probe that reads the reference answer's states: the watcher's pass puts the answer's tokens in, stops after
the layer the probe reads and runs no LM head, and predicts what the workspace's stored features predict."""

from __future__ import annotations

import numpy as np

from probecast.checkpoints import discover_checkpoints
from probecast.evaluation.pipeline import fit_workspace
from probecast.features import extract as ex
from probecast.features.store import load_dataset
from probecast.monitor.compute import evaluate_checkpoint
from probecast.monitor.evaluator import Monitor, MonitorConfig
from probecast.workspace import Workspace


def test_an_answer_reading_probe_is_predicted_without_the_answers_likelihood(monitor_ws, tiny_run, monkeypatch):
    ws = Workspace(monitor_ws)
    probe, _ = fit_workspace(ws, "ridge", "ridge_answer", params={"pooling": "answer", "layer": 1})
    ckpt = discover_checkpoints(tiny_run)[-1]
    heads, real = [], ex._forward
    monkeypatch.setattr(ex, "_forward", lambda *a, **k: heads.append(k["full"]) or real(*a, **k))
    with Monitor(monitor_ws, MonitorConfig(probe="ridge_answer", sinks=("jsonl",), n_boot=20)) as mon:
        cfg = mon.spec.extract_cfg
        assert cfg.answer_pool and not cfg.answer_loglik and not cfg.next_token  # no LM head, early exit
        got = evaluate_checkpoint(mon.spec, ckpt, ckpt.step, ckpt.id, do_audit=False)
    assert heads and not any(heads)  # every pass stopped after the deepest layer read
    for task, p in zip(mon.spec.tasks, got.p_success):
        stored, _ = load_dataset(ws, [ckpt.id], [task.name], with_labels=False)
        np.testing.assert_allclose(p, probe.predict_proba(stored), atol=2e-3)
