"""HF labelling: the compacting sampling loop against `model.generate`, on the real demo's labelling work.

The real demo labels each skill by 8 samples at temperature 1 of answers a few tokens long, stopped at a newline
(`probecast demo --model smollm2`). `model.generate` keeps every row of a batch until its last row stops;
`labels.hf_sampler.sample_compacting` (what `HFBackend.generate` uses) drops finished rows. This times both on
the same prompts, same settings and batch size, interleaved (`--repeats`, the minimum is the figure, the spread
shown), and counts the decode token passes each makes (rows × the steps each row is computed for).

    .venv/bin/python benchmarks/hf_sampling.py --checkpoint DIR/run/step-200 --tasks DIR/tasks [--json]

`--checkpoint` defaults to the packaged SmolLM2 (an untrained model rambles: little to drop); `--tasks` is a
folder of task JSONL files (the real demo's `DIR/tasks`, test files only) or the skill names, generated fresh.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SKILLS = ("mul", "weekday", "units", "list_last", "word_add", "word_sub")


def load_tasks(spec: str, questions: int):
    from probecast.tasks.loaders import load_jsonl_task

    folder = Path(spec)
    if folder.is_dir():
        files = sorted(p for p in folder.glob("*.jsonl") if not p.name.endswith(".train.jsonl"))
        tasks = [load_jsonl_task(p) for p in files]
        return [t.subset(questions) for t in tasks if not t.is_multiple_choice and t.name in SKILLS]
    import tempfile

    from probecast.tasks.skills import write_skill_suite

    tests, _ = write_skill_suite(Path(tempfile.mkdtemp()), spec.split(","), questions, 1)
    return [load_jsonl_task(p) for p in tests]


def run(backend, tasks, samples: int, path: str) -> tuple[float, int]:
    """Seconds to sample every task once with `path` ("loop" or "generate"), and the decode token passes it made
    (rows × steps each row was computed for)."""
    import probecast.labels.hf_sampler as sampler
    from probecast.labels.backend import SamplingConfig

    real_loop, real_generate, passes = sampler.sample_compacting, backend._generate, [0]

    def loop(*args, **kw):
        out = real_loop(*args, **kw)
        passes[0] += sum(len(x) for x in out)  # a row is computed for the steps it is alive
        return out

    def refuse(*args, **kw):
        raise TypeError("timing model.generate")  # HFBackend then falls back to it

    def generate(enc, *args):
        new = real_generate(enc, *args)
        passes[0] += new.shape[0] * new.shape[1]  # every row computed until the batch's last one stops
        return new

    sampler.sample_compacting = loop if path == "loop" else refuse
    backend._generate = generate
    try:
        t0 = time.perf_counter()
        for task in tasks:
            cfg = SamplingConfig(n=samples, temperature=1.0, top_p=1.0, max_new_tokens=task.max_new_tokens,
                                 stop=task.stop)
            backend.generate(task.prompts(), cfg)
        seconds = time.perf_counter() - t0
    finally:
        sampler.sample_compacting = real_loop
        del backend._generate
    return seconds, passes[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None, help="a checkpoint folder (default: the packaged SmolLM2)")
    ap.add_argument("--tasks", default=",".join(SKILLS), help="a folder of task JSONL files or skill names")
    ap.add_argument("--questions", type=int, default=40, help="questions per task")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.labels.backend import HFBackend
    from probecast.models.fetch import cached_model

    folder = args.checkpoint or cached_model("smollm2")
    if folder is None:
        raise SystemExit("error: SmolLM2 is not fetched; run `probecast models fetch smollm2` or give --checkpoint")
    ckpt = discover_checkpoints(folder)[-1]
    model, tok = load_model(ckpt, dtype=args.dtype)
    tasks = load_tasks(args.tasks, args.questions)
    backend = HFBackend(model, tok, batch_size=args.batch_size)
    times: dict[str, list[float]] = {"loop": [], "generate": []}
    passes: dict[str, int] = {}
    torch.manual_seed(0)
    for r in range(args.repeats):  # interleaved: load on a shared machine hits both alike
        for path in times:
            seconds, passes[path] = run(backend, tasks, args.samples, path)
            times[path].append(seconds)
            if not args.json:
                print(f"repeat {r + 1}/{args.repeats} {path}: {seconds:.2f} s", flush=True)
    best = {k: min(v) for k, v in times.items()}
    out = {"checkpoint": str(ckpt.path), "tasks": [t.name for t in tasks], "questions": args.questions,
           "samples": args.samples, "batch_size": args.batch_size, "dtype": args.dtype, "seconds": best,
           "times": times, "generate_over_loop": best["generate"] / best["loop"],
           "round_ratios": [g / lo for g, lo in zip(times["generate"], times["loop"])],
           "token_passes": passes, "passes_saved": 1 - passes["loop"] / passes["generate"]}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{ckpt.path}: {len(tasks)} tasks × {args.questions} questions × {args.samples} samples, {args.dtype}")
    for k in times:
        print(f"  {k:9s} {best[k]:7.2f} s (spread {max(times[k]) - min(times[k]):.2f} s), "
              f"token passes {out['token_passes'][k]:,}")
    print(f"  generate / loop {out['generate_over_loop']:.2f}× (per round "
          f"{', '.join(f'{x:.2f}' for x in out['round_ratios'])}); the loop makes {out['passes_saved']:.0%} fewer "
          f"token passes")


if __name__ == "__main__":
    main()
