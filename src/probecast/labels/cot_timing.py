"""The realistic generative side of a latency comparison: chain-of-thought GSM8K, long answers, several samples.

The paper's generative evaluations write worked solutions, hundreds of tokens per sample. `time_cot_generation`
times that on one checkpoint with one backend: lm-eval's 5-shot GSM8K prompt (the shots are worked solutions,
so the model answers step by step), `samples` sampled completions per question at temperature 1, and by default
exactly `new_tokens` new tokens per sample (`fixed_length`: EOS and stop strings ignored), so HF and vLLM do the
same amount of work and the figure does not depend on when a sample happens to stop. The seconds include
starting the engine (HF: loading the model; vLLM: building its engine), as a fresh evaluation of a new checkpoint
pays it; the split is reported beside the total.

    from probecast.labels.cot_timing import CoTTimingConfig, time_cot_generation
    time_cot_generation(ckpt, "vllm", CoTTimingConfig(questions=8))["seconds"]
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from probecast.checkpoints.discover import Checkpoint
from probecast.labels.backend import SamplingConfig
from probecast.labels.backends import BackendConfig, make_backend
from probecast.tasks.schema import Task


@dataclass(frozen=True)
class CoTTimingConfig:
    questions: int = 8  # the first N GSM8K test questions (lm-eval's order)
    samples: int = 4
    new_tokens: int = 256
    n_fewshot: int = 5  # lm-eval's gsm8k: 5 worked solutions from the train split before each question
    temperature: float = 1.0
    top_p: float = 1.0
    fixed_length: bool = True  # every sample writes exactly `new_tokens` (else: stops at the task's stop strings)
    batch_size: int = 64  # HF: sequences per generate call
    seed: int = 0
    dtype: str = "float32"

    def sampling(self, task: Task) -> SamplingConfig:
        return SamplingConfig(n=self.samples, temperature=self.temperature, top_p=self.top_p,
                              max_new_tokens=self.new_tokens,
                              min_new_tokens=self.new_tokens if self.fixed_length else 0,
                              stop=() if self.fixed_length else task.stop)


def gsm8k_cot_task(cfg: CoTTimingConfig) -> Task:
    from probecast.tasks.loaders import load_gsm8k
    from probecast.tasks.registry import _benchmark_dir

    return load_gsm8k(_benchmark_dir("gsm8k"), n_fewshot=cfg.n_fewshot, limit=cfg.questions)


def time_cot_generation(ckpt: Checkpoint, backend: str = "hf", cfg: CoTTimingConfig | None = None,
                        task: Task | None = None) -> dict:
    """Wall seconds of sampled CoT generation on `ckpt` with `backend` ("hf" or "vllm"), start included:
    {seconds, start_s, generate_s, backend, questions, samples, new_tokens, completion_chars, config}."""
    cfg = cfg or CoTTimingConfig()
    task = task or gsm8k_cot_task(cfg)
    prompts = task.prompts()
    t0 = time.perf_counter()
    engine = make_backend(BackendConfig(name=backend, batch_size=cfg.batch_size, seed=cfg.seed, dtype=cfg.dtype), ckpt)
    try:
        t1 = time.perf_counter()
        completions = engine.generate(prompts, cfg.sampling(task))
        t2 = time.perf_counter()
    finally:
        engine.close()
    return {"seconds": t2 - t0, "start_s": t1 - t0, "generate_s": t2 - t1, "backend": backend,
            "questions": len(prompts), "samples": cfg.samples, "new_tokens": cfg.new_tokens,
            "completion_chars": sum(len(c) for comps in completions for c in comps), "config": asdict(cfg)}
