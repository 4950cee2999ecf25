"""Checkpoints that share their bottom blocks: the shared hidden states are computed once and the features stay
those of the full pass (`features/shared_prefix.py`)."""

import pytest

from probecast.features import extract as ex
from probecast.features.extract import ExtractConfig, base_model, extract_task
from probecast.features.shared_prefix import PrefixStates, block_hashes, shared_depth
from probecast.tasks import load_tasks
from embedded_run import retrain_top, save_shared_run
from test_layer_tap import _close


@pytest.fixture(scope="module")
def run(tiny_model):
    return (*tiny_model, load_tasks("add,sum3,color", limit=12))


def _same(a, b):
    _close(a, b, atol=0)


def test_shared_depth_reads_the_weights(run):
    model, _, _ = run
    n = model.config.num_hidden_layers
    h = block_hashes(base_model(model))
    assert len(h) == n + 1  # the embeddings and every block
    assert shared_depth(h, block_hashes(base_model(retrain_top(model, 0)))) == n - 1  # all but the top block
    assert shared_depth(h, block_hashes(base_model(retrain_top(model, 0, blocks=n)))) == 0  # the embeddings only
    assert shared_depth(h, block_hashes(base_model(retrain_top(model, 0, embed=True)))) == -1
    assert shared_depth(h, h) == n - 1  # identical: capped so that the last block and the norm still run
    full = [retrain_top(model, s, blocks=n, embed=True) for s in (1, 2)]  # fully trained checkpoints
    hashes = block_hashes(base_model(full[0]), like=[h])
    assert len(hashes) == 1  # the embeddings differ: nothing deeper is hashed
    assert len(block_hashes(base_model(full[1]), like=[hashes])) == 1
    assert len(block_hashes(base_model(full[1]), like=[hashes[:0]])) == n + 1  # nothing known: every block
    states = PrefixStates()
    for m in (model, *full):
        assert states.plan(base_model(m), ("add", "")) is None
    assert len(states.current) == 1  # after the first checkpoint, only the embeddings' hash is computed
    other = retrain_top(model, 0)
    other.model.config.rope_theta = 2 * float(getattr(model.config, "rope_theta", 10000.0))
    assert shared_depth(h, block_hashes(base_model(other))) == -1  # another configuration shares nothing


@pytest.mark.parametrize("cfg", [
    ExtractConfig(dtype="float32", tail_tokens=4, batch_size=5),  # every layer, answer pass (alternatives), tail
    ExtractConfig(dtype="float32", layers=(1, -1), answer_loglik=False, batch_size=5, tail_tokens=2, tail_layer=1),
    ExtractConfig(dtype="float32", layers=(0, 1), answer_loglik=False, next_token=False, batch_tokens=64),
    ExtractConfig(dtype="float32", layers=(0, 1), answer_loglik=False, answer_pool=False, next_token=False),
])
def test_replayed_checkpoints_get_the_full_pass_features(run, cfg):
    model, tok, tasks = run
    base, later = retrain_top(model, 1), [retrain_top(model, s) for s in (2, 3)]
    states = PrefixStates()
    modes = []
    for i, m in enumerate([model, base, *later]):
        for task in tasks:
            plan = states.plan_extraction(m, task, cfg)
            got, _ = extract_task(m, tok, task, cfg, prefix=plan)
            modes.append(None if plan is None else plan.mode)
            _same(got, extract_task(m, tok, task, cfg)[0])
    k = len(tasks)
    assert modes[:k] == [None] * k  # the first checkpoint: nothing to share with yet
    assert modes[k:] == ["replay"] * (3 * k)  # the second is recorded (then replayable), the others replay
    assert states.depth == model.config.num_hidden_layers - 1 and states.used > 0 and states.disabled is None


def test_replay_runs_only_the_blocks_above_the_shared_depth(run):
    model, tok, tasks = run
    cfg = ExtractConfig(tail_tokens=0, answer_loglik=False, batch_size=100)
    states = PrefixStates()
    for m in (retrain_top(model, 1), retrain_top(model, 2)):
        extract_task(m, tok, tasks[2], cfg, prefix=states.plan(base_model(m), ("color", "")))
    m = retrain_top(model, 3)
    calls = []
    handles = [b.register_forward_hook(lambda *a, i=i: calls.append(i)) for i, b in enumerate(m.model.layers)]
    try:
        extract_task(m, tok, tasks[2], cfg, prefix=states.plan(base_model(m), ("color", "")))
    finally:
        for h in handles:
            h.remove()
    assert calls == [model.config.num_hidden_layers - 1]  # the top block only
    assert len(m.model.layers) == model.config.num_hidden_layers  # the decoder is given its blocks back


def test_no_reuse_when_the_embeddings_differ_or_the_cap_is_reached(run):
    model, tok, tasks = run
    cfg = ExtractConfig(tail_tokens=0, batch_size=100)
    states = PrefixStates()
    assert states.plan(base_model(model), ("add", "")) is None
    assert states.plan(base_model(retrain_top(model, 1, embed=True)), ("add", "")) is None
    small = PrefixStates(max_bytes=1)
    small.plan(base_model(model), ("add", ""))
    m = retrain_top(model, 1)
    plan = small.plan(base_model(m), ("add", ""))
    extract_task(m, tok, tasks[0], cfg, prefix=plan)
    assert plan.mode == "off" and small.tasks == {} and small.used == 0


def test_a_replay_that_does_not_reproduce_the_pass_switches_reuse_off(run, monkeypatch):
    """A decoder that transforms `inputs_embeds` (Gemma scales them) would replay wrongly: the first kept batch is
    replayed at once and compared, and reuse is switched off; the features are the full pass's."""
    model, tok, tasks = run
    real = ex.forward_from
    monkeypatch.setattr(ex, "forward_from", lambda base, state, *a, **k: real(base, state * 2.0, *a, **k))
    cfg = ExtractConfig(dtype="float32", tail_tokens=0, batch_size=5)
    states = PrefixStates()
    states.plan(base_model(model), ("add", ""))
    m = retrain_top(model, 1)
    got, _ = extract_task(m, tok, tasks[0], cfg, prefix=states.plan(base_model(m), ("add", "")))
    assert states.disabled and states.tasks == {}
    _same(got, extract_task(m, tok, tasks[0], cfg)[0])
    assert states.plan(base_model(retrain_top(model, 2)), ("add", "")) is None


def test_a_new_reference_is_checked_again_and_clear_forgets_everything(run, monkeypatch):
    """One process, two runs: the first run's passed check must not vouch for the second's reference (another
    model family may transform `inputs_embeds`), and `clear` also forgets that reuse was switched off."""
    model, tok, tasks = run
    cfg = ExtractConfig(dtype="float32", tail_tokens=0, batch_size=5)
    states = PrefixStates()
    for m in (model, retrain_top(model, 1), retrain_top(model, 2)):  # run 1: recorded, checked, replayed
        extract_task(m, tok, tasks[0], cfg, prefix=states.plan(base_model(m), ("add", "")))
    assert states.checked and not states.disabled
    other = retrain_top(model, 1, embed=True)  # run 2 shares nothing with run 1 and replays wrongly
    real = ex.forward_from
    monkeypatch.setattr(ex, "forward_from", lambda base, state, *a, **k: real(base, state * 2.0, *a, **k))
    modes = []
    for m in (other, retrain_top(other, 2), retrain_top(other, 3)):
        plan = states.plan(base_model(m), ("add", ""))
        modes.append(plan and plan.mode)
        got, _ = extract_task(m, tok, tasks[0], cfg, prefix=plan)
        _same(got, extract_task(m, tok, tasks[0], cfg)[0])
    assert "record" in modes and states.disabled  # caught by the new reference's own check
    states.clear()
    assert states.disabled is None and not states.checked and states.reference is None and states.tasks == {}


def test_workspace_extraction_is_unchanged(run, tmp_path, monkeypatch):
    """`extract_workspace` reuses the shared blocks by default and stores the features it stores without."""
    from safetensors.numpy import load_file

    from probecast.features.shared_prefix import process_states
    from probecast.features.workspace_features import extract_workspace
    from probecast.workspace import Workspace

    model, tok, tasks = run
    ckpts = save_shared_run(model, tok, tmp_path / "run")
    cfg = ExtractConfig(tail_tokens=2, batch_size=5)
    replays, real = [], ex.forward_from
    monkeypatch.setattr(ex, "forward_from", lambda *a, **k: replays.append(1) or real(*a, **k))
    stored = []
    for shared in (True, False):
        ws = Workspace(tmp_path / f"ws-{shared}")
        ws.add_checkpoints(c.to_record() for c in ckpts)
        extract_workspace(ws, ckpts, tasks, cfg, progress=False, shared_prefix=shared)
        stored.append({(c.id, t.name): load_file(ws.features_path(c.id, t.name)) for c in ckpts for t in tasks})
    assert replays  # the third checkpoint (and the second's check) replayed from the kept states
    assert stored[0].keys() == stored[1].keys() and len(stored[0]) == 9
    for key, arrays in stored[0].items():
        _same(arrays, stored[1][key])
    assert process_states().reference is None  # the process's kept states are released after the run


def test_the_benchmark_times_both_paths_and_checks_they_agree(run, tmp_path):
    from benchmark_module import load_benchmark

    bench = load_benchmark("shared_prefix")
    model, tok, tasks = run
    ckpts = save_shared_run(model, tok, tmp_path / "run")
    out = bench.compare(ckpts, tasks, ExtractConfig(tail_tokens=2), progress=False)
    assert out["identical"] and out["full_s"] > 0 and out["shared_s"] > 0
    assert [r["how"] for r in out["checkpoints"]] == [["full"], ["kept"], ["replayed"]]


def test_the_states_do_not_keep_a_checkpoint_alive(run):
    import gc
    import weakref

    model, _, _ = run
    states = PrefixStates()
    m = retrain_top(model, 1)
    states.plan(base_model(m), ("add", ""))
    alive = weakref.ref(base_model(m))  # what the states hashed
    del m
    gc.collect()
    assert alive() is None


def test_the_benchmark_compares_multiple_choice_labels(run, tmp_path):
    from benchmark_module import load_benchmark

    import json

    bench = load_benchmark("shared_prefix")
    model, tok, _ = run
    rows = [{"question": f"{i}+{i}=", "choices": [str(2 * i), str(2 * i + 1)], "answer": 0} for i in range(6)]
    (tmp_path / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = load_tasks(str(tmp_path / "mc.jsonl"))[0]
    out = bench.compare_labels(save_shared_run(model, tok, tmp_path / "run"), [task], progress=False)
    assert out["identical"] and out["tasks"] == ["mc"] and len(out["checkpoints"]) == 3
