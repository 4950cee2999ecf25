"""The watcher's evaluations of checkpoints that share their bottom blocks replay them, with the same records."""

from __future__ import annotations

import numpy as np

from embedded_run import save_shared_run
from probecast.checkpoints import discover_checkpoints
from probecast.checkpoints.load import load_model
from probecast.features import extract as ex
from probecast.features.shared_prefix import process_states
from probecast.monitor.compute import evaluate_checkpoint
from probecast.monitor.evaluator import Monitor, MonitorConfig


def test_watched_checkpoints_replay_shared_blocks_and_predict_the_same(monitor_ws, tiny_run, tmp_path, monkeypatch):
    model, tok = load_model(discover_checkpoints(tiny_run)[-1])
    ckpts = save_shared_run(model, tok, tmp_path / "run")
    full_passes, real = [], ex._forward
    monkeypatch.setattr(ex, "_forward", lambda *a, **k: full_passes.append(1) or real(*a, **k))
    got, passes = {}, {}
    for shared in (True, False):
        process_states().clear()
        with Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=("jsonl",), n_boot=20,
                                               shared_prefix=shared)) as mon:
            got[shared] = [evaluate_checkpoint(mon.spec, c, c.step, c.id, do_audit=False) for c in ckpts]
        passes[shared] = len(full_passes)
        full_passes.clear()
    process_states().clear()
    assert passes[True] == 2 / 3 * passes[False]  # the third checkpoint runs no full pass: it replays
    for a, b in zip(got[True], got[False]):
        for pa, pb in zip(a.p_success, b.p_success):
            np.testing.assert_array_equal(pa, pb)
        assert [r["pred_pass1"] for r in a.records] == [r["pred_pass1"] for r in b.records]
