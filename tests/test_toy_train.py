

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
