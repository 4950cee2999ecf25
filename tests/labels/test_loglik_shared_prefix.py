"""Multiple-choice log-likelihoods on checkpoints that share their bottom blocks: the shared blocks run once, the
log-likelihoods are those of the full pass."""

from __future__ import annotations

from embedded_run import retrain_top
from probecast.checkpoints import discover_checkpoints
from probecast.checkpoints.load import load_model
from probecast.features import shared_prefix as sp
from probecast.labels.backend import HFBackend

CONTEXTS = ["3+4=", "12+5=", "the sky is", "2*3=", "a b c", "9-1="] * 3
CONTINUATIONS = ["7", "17", " blue", "6", " d e", "8"] * 3


def test_loglik_replays_shared_blocks_with_the_same_results(tiny_run, monkeypatch):
    model, tok = load_model(discover_checkpoints(tiny_run)[-1])
    ckpts = [model, retrain_top(model, 1), retrain_top(model, 2)]
    replays, real = [], sp.forward_from
    monkeypatch.setattr(sp, "forward_from", lambda *a, **k: replays.append(1) or real(*a, **k))
    sp.process_states().clear()
    try:
        shared = [HFBackend(m, tok, batch_size=4, shared_prefix=True).loglik(CONTEXTS, CONTINUATIONS) for m in ckpts]
    finally:
        sp.process_states().clear()
    n_batches = -(-len(CONTEXTS) // 4)
    assert len(replays) == 1 + n_batches  # the second checkpoint's check of its first kept batch, then the third
    full = [HFBackend(m, tok, batch_size=4).loglik(CONTEXTS, CONTINUATIONS) for m in ckpts]
    assert shared == full
    assert shared[1] != shared[2]  # (the retrained top block does change them)
