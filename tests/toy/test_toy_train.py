import json

from probecast.optim import checkpoint_steps
from probecast.toy.train import SIZES


def test_schedule_is_log_spaced_early_then_regular():
    steps = checkpoint_steps(1500, 12)
    assert steps[-1] == 1500 and len(steps) == len(set(steps)) >= 10
    early = [s for s in steps if s <= 500]
    assert early[1] / early[0] > 1.4  # geometric early
    late = [b - a for a, b in zip(steps, steps[1:]) if a >= 500]
    assert max(late) - min(late) <= 2  # evenly spaced later


def test_at_least_four_sizes_with_increasing_params():
    dims = [12 * l * h * h for h, l, _ in SIZES.values()]
    assert len(SIZES) >= 4 and dims == sorted(dims)


def test_run_writes_loadable_hf_checkpoints(tiny_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = json.loads((tiny_run / "run.json").read_text())
    assert run["finished"] and len(run["checkpoints"]) == 3
    log = [json.loads(l) for l in (tiny_run / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 24 and all("loss" in r for r in log)
    last = run["checkpoints"][-1]
    model = AutoModelForCausalLM.from_pretrained(last["path"])
    tok = AutoTokenizer.from_pretrained(last["path"])
    assert tok.decode(tok("12+3=").input_ids, skip_special_tokens=True) == "12+3="
    assert model.config.model_type == "llama"
    side = json.loads((tiny_run / last["id"] / "probecast_checkpoint.json").read_text())
    assert {"step", "tokens", "flops", "params", "train_loss"} <= set(side)
def test_a_finished_toy_run_is_reused_only_with_its_own_settings(tiny_run):
    from dataclasses import replace

    import pytest

    from probecast.errors import ProbecastError
    from probecast.toy.train import ToyConfig, train_toy

    cfg = ToyConfig(size="xs", steps=24, n_checkpoints=3, warmup=4, batch_size=8, seq_len=64)  # tests/embedded_run.py's
    records = train_toy(tiny_run, cfg, progress=False)
    assert [r["step"] for r in records][-1] == 24
    with pytest.raises(ProbecastError, match="--size 'xs' \\(now 's'\\)"):
        train_toy(tiny_run, replace(cfg, size="s"), progress=False)
