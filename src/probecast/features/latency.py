"""Latency accounting, measured side by side on the same checkpoint and questions.

- generative: load + generative labelling with the settings that made the labels (HF `generate`; with
  `generative_backends=("hf", "vllm")` also `generative_vllm`: vLLM engine start + the same labelling);
- probe: load + prefill with hidden states + pooling + the fitted probe's prediction (the reference answer only:
  other valid paths are scored on labelled checkpoints to calibrate, a new checkpoint does not need them —
  unless the probe reads them at prediction time, `Probe.needs_alternatives`);
- prefill floor: load + a bare forward pass over the same prompts, same batching, nothing kept;
- hidden states only: load + the prefill pass with pooling but without the reference answer appended (what a
  probe needs that does not use the answer log-likelihood).
Each is repeated and the median kept, interleaved so machine load hits all three alike.
"""

from __future__ import annotations

import statistics
import time
from typing import Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.checkpoints.load import free_model, load_model
from probecast.features.extract import ExtractConfig, bare_forward, extract_task
from probecast.features.in_memory import featureset_from_arrays
from probecast.labels.backends import BackendConfig, make_backend
from probecast.labels.label import LabelConfig, label_task
from probecast.tasks.schema import Task


def time_generative(ckpt: Checkpoint, tasks: Sequence[Task], cfg: LabelConfig, backend: str = "hf") -> float:
    t0 = time.perf_counter()
    engine = make_backend(BackendConfig(name=backend, batch_size=cfg.batch_size, seed=cfg.seed), ckpt)
    try:
        for task in tasks:
            label_task(engine, task, cfg, ckpt.id, ckpt.step)
    finally:
        engine.close()
    return time.perf_counter() - t0


GENERATIVE_KEYS = {"hf": "generative", "vllm": "generative_vllm"}  # latency_s key per labelling backend


def time_probe(ckpt: Checkpoint, tasks: Sequence[Task], cfg: ExtractConfig, probe, max_step: float) -> float:
    """`probe=None`: extraction alone (e.g. without the answer pass, what a hidden-state-only probe needs)."""
    t0 = time.perf_counter()
    model, tok = load_model(ckpt)
    for task in tasks:
        arrays, _ = extract_task(model, tok, task, cfg)
        if probe is not None:
            probe.predict_proba(featureset_from_arrays(task, ckpt.id, ckpt.step, arrays, max_step))
    free_model(model)
    return time.perf_counter() - t0


def time_floor(ckpt: Checkpoint, tasks: Sequence[Task], batch_size: int) -> float:
    t0 = time.perf_counter()
    model, tok = load_model(ckpt)
    for task in tasks:
        bare_forward(model, tok, task, batch_size)
    free_model(model)
    return time.perf_counter() - t0


def measure_latency(ckpt: Checkpoint, tasks: Sequence[Task], label_cfg: LabelConfig, extract_cfg: ExtractConfig,
                    probe, max_step: float, repeats: int = 3, generative_repeats: int = 1,
                    generative_backends: Sequence[str] = ("hf",)) -> dict[str, float]:
    """Median wall seconds of the paths for one checkpoint over `tasks`."""
    from dataclasses import replace

    probe_t, floor_t, hidden_t = [], [], []
    gen_t: dict[str, list[float]] = {b: [] for b in generative_backends}
    extract_cfg = replace(extract_cfg, alternatives=probe.needs_alternatives)
    time_floor(ckpt, tasks, extract_cfg.batch_size)  # warm-up: file cache, kernels
    for r in range(repeats):
        floor_t.append(time_floor(ckpt, tasks, extract_cfg.batch_size))
        probe_t.append(time_probe(ckpt, tasks, extract_cfg, probe, max_step))
        hidden_t.append(time_probe(ckpt, tasks, replace(extract_cfg, answer_loglik=False), None, max_step))
        if r < generative_repeats:
            for b in generative_backends:
                gen_t[b].append(time_generative(ckpt, tasks, label_cfg, backend=b))
    return {**{GENERATIVE_KEYS[b]: statistics.median(t) for b, t in gen_t.items()}, "probe": statistics.median(probe_t),
            "prefill_floor": statistics.median(floor_t), "hidden_states_only": statistics.median(hidden_t),
            "checkpoint": ckpt.id, "n_questions": sum(len(t.questions) for t in tasks), "repeats": repeats}


def latency_summary(lat: dict, probe_name: str) -> tuple[dict[str, float], dict]:
    """(`latency_s`, `latency_detail`) blocks of summary.json from a `measure_latency` result."""
    seconds = {k: lat[k] for k in ("generative", "generative_vllm", "probe", "prefill_floor", "hidden_states_only")
               if k in lat}
    detail = {"checkpoint": lat["checkpoint"], "n_questions": lat["n_questions"], "repeats": lat["repeats"],
              "probe_name": probe_name, "generative_over_probe": lat["generative"] / lat["probe"],
              "probe_over_floor": lat["probe"] / lat["prefill_floor"],
              "hidden_states_only_over_floor": lat["hidden_states_only"] / lat["prefill_floor"]}
    if "generative_vllm" in lat:
        detail["generative_vllm_over_probe"] = lat["generative_vllm"] / lat["probe"]
    return seconds, detail
