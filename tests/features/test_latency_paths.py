"""The latency of the probe path is measured with exactly the extraction the probe needs at prediction time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from probecast.features import latency
from probecast.features.extract import ExtractConfig


@pytest.mark.parametrize("needs", [False, True])
def test_probe_path_scores_listed_paths_only_when_the_probe_reads_them(monkeypatch, needs):
    seen = []
    monkeypatch.setattr(latency, "time_floor", lambda *a: 1.0)
    monkeypatch.setattr(latency, "time_generative", lambda *a, **k: 10.0)
    monkeypatch.setattr(latency, "time_probe", lambda ckpt, tasks, cfg, probe, max_step: seen.append((cfg, probe)) or 1.2)
    probe = SimpleNamespace(needs_alternatives=needs)
    out = latency.measure_latency(SimpleNamespace(id="step-1"), [], None, ExtractConfig(alternatives=True), probe,
                                  max_step=1.0, repeats=2)
    with_probe = [cfg for cfg, p in seen if p is probe]
    assert len(with_probe) == 2 and all(cfg.alternatives is needs for cfg in with_probe)
    assert all(not cfg.answer_loglik for cfg, p in seen if p is None)  # the hidden-states-only path
    assert out["generative"] == 10.0 and out["probe"] == 1.2 and out["prefill_floor"] == 1.0
