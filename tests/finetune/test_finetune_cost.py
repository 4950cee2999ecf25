"""benchmarks/finetune_cost.py on the tiny run: every method timed on every round, ratios against the first."""

import json

import pytest
from benchmark_module import load_benchmark

pytest.importorskip("peft")
cost = load_benchmark("finetune_cost")


def test_every_method_is_timed_each_round(tiny_run, tmp_path):
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"{a}+{b}=", "completion": str(a + b)}) + "\n"
                            for a in range(5) for b in range(5)))
    # the tiny run has 2 blocks: "top8" would be refused, so time full and LoRA
    out = cost.main(["--source", str(tiny_run / "step-24"), "--task", str(data), "--methods", "full,lora16",
                     "--steps", "3", "--skip", "1", "--repeats", "2", "--batch-size", "4", "--max-len", "32",
                     "--threads", "1"])
    assert set(out["seconds_per_step"]) == {"full", "lora16"}
    assert all(len(v) == 2 and all(s > 0 for s in v) for v in out["seconds_per_step"].values())
    assert out["fastest"]["full"] == min(out["seconds_per_step"]["full"])
    with pytest.raises(SystemExit):
        cost.main(["--skip", "0"])
