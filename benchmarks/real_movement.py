"""Does SmolLM2-135M learn the skill suite, and how fast per CPU second? The measurement behind the real demo's
run settings (`demos/real.py`), small enough to run on a loaded machine.

Fine-tunes the fetched SmolLM2 on the skill suite's train files (`tasks/skills.py`, as the demo does) and
labels the skills' test questions by sampling (n samples at temperature 1) at the saved checkpoints — the
last checkpoint first, then step 0, then the ones between, so an interrupted run still shows first vs last —
and prints mean pass@1 per skill per checkpoint, the training CPU seconds per step and the wall time per
labelled checkpoint. Results are appended to `--json` as they come.

    python benchmarks/real_movement.py --steps 60 --checkpoints 3 --questions 16 --json /tmp/movement.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/probecast-real-movement"))
    ap.add_argument("--skills", default="add,sub,mul,weekday,units,list_last,list_count,word_add")
    ap.add_argument("--questions", type=int, default=16, help="test questions per skill")
    ap.add_argument("--train-examples", type=int, default=300)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--train-layers", type=int, default=8, help="top-k blocks trained; 0 = full fine-tuning")
    ap.add_argument("--lora", type=int, default=None, help="LoRA rank, on the --train-layers blocks (--train-layers 0: every block)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--checkpoints", type=int, default=3, help="saved after step 0")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.finetune.train import FinetuneConfig, finetune
    from probecast.labels.backend import HFBackend
    from probecast.labels.label import LabelConfig, label_task
    from probecast.models.fetch import fetch_model
    from probecast.runtime import configure_threads
    from probecast.tasks.loaders import load_jsonl_task
    from probecast.tasks.skills import write_skill_suite

    configure_threads(a.threads)
    tests, trains = write_skill_suite(a.out / "tasks", a.skills.split(","), a.questions, a.train_examples)
    cfg = FinetuneConfig(task=",".join(map(str, trains)), steps=a.steps, batch_size=a.batch_size, max_len=96,
                         lr=a.lr, warmup=5, train_layers=a.train_layers or None, n_checkpoints=a.checkpoints,
                         lora_rank=a.lora)
    t0, c0 = time.time(), time.process_time()
    finetune(fetch_model("smollm2"), a.out / "run", cfg, progress=False)
    result = {"config": vars(a) | {"out": str(a.out), "json": str(a.json)},
              "train_wall_s": round(time.time() - t0, 1), "train_cpu_s_per_step": (time.process_time() - c0) / a.steps,
              "pass1": {}, "label_wall_s": {}}
    print(f"train: {result['train_wall_s']} s wall, {result['train_cpu_s_per_step']:.2f} CPU s/step", flush=True)
    tasks = [load_jsonl_task(p) for p in tests]
    ckpts = discover_checkpoints(a.out / "run")
    order = [ckpts[-1], ckpts[0], *ckpts[1:-1]]
    for ck in order:
        t1 = time.time()
        model, tok = load_model(ck)
        backend = HFBackend(model, tok, batch_size=64)
        row = {}
        for task in tasks:
            df, _ = label_task(backend, task, LabelConfig(samples=a.samples, greedy=False), ck.id, ck.step)
            row[task.name] = float(df["pass1"].mean())
        result["pass1"][str(ck.step)] = row
        result["label_wall_s"][str(ck.step)] = round(time.time() - t1, 1)
        print(f"step {ck.step}: " + " ".join(f"{k} {v:.2f}" for k, v in row.items())
              + f"  ({result['label_wall_s'][str(ck.step)]} s)", flush=True)
        if a.json:
            a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
