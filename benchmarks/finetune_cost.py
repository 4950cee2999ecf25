"""Training cost per step of the fine-tuning methods, side by side: top-K blocks, full fine-tuning and LoRA.

The first half of session 28's comparison of the real demo's fine-tuning method by learning per CPU time (README,
"A LoRA run"): each method runs a few steps of the demo's batch on the same data, interleaved over `--repeats`
rounds so that the machine's hour hits all alike, and the wall seconds per step over the steps after the first
`--skip` (warm-up, allocation) are printed with their ratio to the first method. The second half is
`real_movement.py` with each method's steps set to equal cost (e.g. 200 x cost(top8) / cost(lora)).

    python benchmarks/finetune_cost.py --steps 14 --repeats 2      # ~4 min: SmolLM2, the demo's six skills
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

# name -> FinetuneConfig overrides; the demo's run is top8
METHODS = {"top8": {"train_layers": 8}, "full": {"train_layers": None},
           "lora16": {"train_layers": None, "lora_rank": 16}}


def seconds_per_step(source: str, task: str, method: dict, steps: int, skip: int, batch_size: int, max_len: int,
                     out: Path) -> float:
    """Wall seconds per training step after the first `skip` steps (from the run's own train log)."""
    from probecast.finetune.train import FinetuneConfig, finetune

    cfg = FinetuneConfig(task=task, steps=steps, batch_size=batch_size, max_len=max_len, lr=3e-4, warmup=1,
                         n_checkpoints=1, save_base=False, **method)
    finetune(source, out, cfg, progress=False)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return (log[-1]["elapsed_s"] - log[skip - 1]["elapsed_s"]) / (len(log) - skip)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="smollm2", help="checkpoint folder or packaged model name")
    ap.add_argument("--task", default=None, help="training JSONL (default: the demo's six skills' train files)")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"of {', '.join(METHODS)}")
    ap.add_argument("--steps", type=int, default=14)
    ap.add_argument("--skip", type=int, default=4, help="first steps left out of the timing")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-len", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if not 1 <= a.skip < a.steps:
        ap.error("--skip must be in 1..--steps - 1")

    from probecast.models.fetch import MODELS, fetch_model
    from probecast.runtime import configure_threads

    configure_threads(a.threads)
    names = a.methods.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        task = a.task
        if task is None:
            from probecast.demos.real import RealDemoConfig
            from probecast.tasks.skills import write_skill_suite

            demo = RealDemoConfig()  # the demo's skills and fine-tuning examples per skill
            _, trains = write_skill_suite(Path(tmp) / "tasks", list(demo.skills), 24, demo.skill_train_examples)
            task = ",".join(map(str, trains))
        source = str(fetch_model(a.source)) if a.source in MODELS else a.source
        times: dict[str, list[float]] = {n: [] for n in names}
        for r in range(a.repeats):
            for n in names:
                s = seconds_per_step(source, task, METHODS[n], a.steps, a.skip, a.batch_size, a.max_len,
                                     Path(tmp) / f"{n}-{r}")
                times[n].append(s)
                print(f"round {r}: {n} {s:.3f} s/step", flush=True)
    best = {n: min(v) for n, v in times.items()}
    for n in names:
        print(f"{n:8s} {best[n]:.3f} s/step (fastest of {a.repeats}), {best[n] / best[names[0]]:.2f}x {names[0]}")
    return {"seconds_per_step": times, "fastest": best}


if __name__ == "__main__":
    main()
