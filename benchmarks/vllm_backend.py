"""vLLM vs HF labelling on SmolLM2-135M: label agreement and chain-of-thought generation speed, one run.

Agreement (float32, one vLLM engine): greedy completions identical (2-digit addition + 0-shot GSM8K), sampled
pass@1 on the addition task with the paired sign-flip test's p-value, PIQA log-likelihood differences.
Speed: `labels.cot_timing.time_cot_generation` on 5-shot GSM8K, `--samples` samples × exactly `--new-tokens`
new tokens per question, HF and vLLM interleaved (`--repeats`), engine start (HF: model load) included and
shown apart; the minimum over repeats is the figure.

    make vllm && .venv/bin/python benchmarks/vllm_backend.py [--questions 8 --samples 4 --new-tokens 256 --json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def agreement(ckpt, data: Path) -> dict:
    from probecast.checkpoints.load import free_model, load_model
    from probecast.labels.agreement import AgreementConfig, compare_backends
    from probecast.labels.backend import HFBackend
    from probecast.labels.vllm_backend import VLLMBackend
    from probecast.tasks.loaders import load_gsm8k, load_jsonl_task, load_piqa

    add = load_jsonl_task(Path(__file__).resolve().parents[1] / "tests" / "labels" / "data" / "add2.jsonl")
    gsm8k = load_gsm8k(data / "benchmarks" / "gsm8k", n_fewshot=0, limit=32)
    piqa = load_piqa(data / "benchmarks" / "piqa", limit=32)
    model, tok = load_model(ckpt)
    with VLLMBackend(ckpt, seed=0) as vllm:
        hf = HFBackend(model, tok, seed=0)
        out = compare_backends(hf, vllm, [add, piqa], AgreementConfig())
        out.update(compare_backends(hf, vllm, [gsm8k], AgreementConfig(sampled=False, greedy_max_new_tokens=64)))
    free_model(model)
    return out


def speed(ckpt, questions: int, samples: int, new_tokens: int, repeats: int) -> dict:
    from probecast.labels.cot_timing import CoTTimingConfig, gsm8k_cot_task, time_cot_generation

    cfg = CoTTimingConfig(questions=questions, samples=samples, new_tokens=new_tokens)
    task = gsm8k_cot_task(cfg)
    runs: dict[str, list[dict]] = {"hf": [], "vllm": []}
    for _ in range(repeats):  # interleaved: load hits both alike
        for backend in runs:
            runs[backend].append(time_cot_generation(ckpt, backend, cfg, task))
    best = {b: min(r, key=lambda x: x["seconds"]) for b, r in runs.items()}
    return {"generative_hf": best["hf"]["seconds"], "generative_vllm": best["vllm"]["seconds"],
            "start_s": {b: x["start_s"] for b, x in best.items()},
            "generate_s": {b: x["generate_s"] for b, x in best.items()},
            "spread_s": {b: [round(x["seconds"], 1) for x in r] for b, r in runs.items()},
            "hf_over_vllm": best["hf"]["seconds"] / best["vllm"]["seconds"],
            "hf_over_vllm_generate_only": best["hf"]["generate_s"] / best["vllm"]["generate_s"],
            "questions": questions, "samples": samples, "new_tokens": new_tokens}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--skip-agreement", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.models.fetch import fetch_model
    from probecast.runtime import configure_threads
    from probecast.tasks.registry import _benchmark_dir

    configure_threads(None)
    (ckpt,) = discover_checkpoints(str(fetch_model("smollm2")))
    result = {}
    if not args.skip_agreement:
        result["agreement"] = agreement(ckpt, _benchmark_dir("gsm8k").parents[1])
    result["speed"] = speed(ckpt, args.questions, args.samples, args.new_tokens, args.repeats)
    if args.json:
        print(json.dumps(result, default=str))
        return
    for task, r in result.get("agreement", {}).items():
        print(f"agreement {task}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                for k, v in r.items() if k != "greedy_mismatches"))
    s = result["speed"]
    print(f"CoT GSM8K, {s['questions']} questions x {s['samples']} samples x {s['new_tokens']} new tokens:")
    for b in ("hf", "vllm"):
        print(f"  {b:5s} {s['generative_' + b]:8.1f} s (start {s['start_s'][b]:.1f} s + generate "
              f"{s['generate_s'][b]:.1f} s; repeats {s['spread_s'][b]})")
    print(f"  HF / vLLM: {s['hf_over_vllm']:.2f}x total, {s['hf_over_vllm_generate_only']:.2f}x generation only")


if __name__ == "__main__":
    main()
