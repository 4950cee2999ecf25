"""Latency accounting, measured side by side on the same checkpoint and questions.

- generative: load + generative labelling with the settings that made the labels, in their dtype (HF `generate`; with
  `generative_backends=("hf", "vllm")` also `generative_vllm`: vLLM engine start + the same labelling);
- probe: load + the extraction the fitted probe reads (`Probe.reads_`: its layers, pooled as produced, the
  pass stopped after the deepest one; the reference answer only when it reads the likelihood; other valid
  paths only when it reads them at prediction time) + the probe's prediction;
- prefill floor: load + a bare forward pass over the same prompts, same batching, nothing kept;
- hidden states only: load + the probe's layers without the reference answer appended (what a probe needs
  that does not use the answer log-likelihood).
The paths run in interleaved rounds (A, B, C, A, B, C, ...); each figure is the minimum over its repeats (load
on a shared machine only ever adds time, so a ratio of minima cannot fall below what the work allows) and the
spread (slowest - fastest) and the per-round ratio range are reported beside it. The record also keeps the
machine's load average before and after and the cores other processes kept busy in the second before the
measurement began (`machine`); the printed line says when other jobs were running.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.checkpoints.load import free_model, load_model
from probecast.features.extract import ExtractConfig, bare_forward, extract_task
from probecast.features.in_memory import featureset_from_arrays
from probecast.features.plan import plan_extraction, stored_blocks
from probecast.labels.backends import BackendConfig, make_backend
from probecast.labels.label import LabelConfig, label_task
from probecast.tasks.schema import Task


def time_generative(ckpt: Checkpoint, tasks: Sequence[Task], cfg: LabelConfig, backend: str = "hf",
                    dtype: str = "float32") -> float:
    t0 = time.perf_counter()
    engine = make_backend(BackendConfig(name=backend, batch_size=cfg.batch_size, seed=cfg.seed, dtype=dtype), ckpt)
    try:
        for task in tasks:
            label_task(engine, task, cfg, ckpt.id, ckpt.step)
    finally:
        engine.close()
    return time.perf_counter() - t0


GENERATIVE_KEYS = {"hf": "generative", "vllm": "generative_vllm"}  # latency_s key per labelling backend


def time_probe(ckpt: Checkpoint, tasks: Sequence[Task], cfg: ExtractConfig, probe, max_step: float,
               layer_ids: tuple[int, ...] | None = None) -> float:
    """`probe=None`: extraction alone (e.g. without the answer pass, what a hidden-state-only probe needs)."""
    t0 = time.perf_counter()
    model, tok = load_model(ckpt)
    for task in tasks:
        arrays, _ = extract_task(model, tok, task, cfg)
        if probe is not None:
            probe.predict_proba(featureset_from_arrays(task, ckpt.id, ckpt.step, arrays, max_step, layer_ids))
    free_model(model)
    return time.perf_counter() - t0


def time_floor(ckpt: Checkpoint, tasks: Sequence[Task], cfg: ExtractConfig) -> float:
    """The bare forward over the prompts with `cfg`'s batching (rows and token budget)."""
    t0 = time.perf_counter()
    model, tok = load_model(ckpt)
    for task in tasks:
        bare_forward(model, tok, task, cfg.batch_size, cfg.batch_tokens)
    free_model(model)
    return time.perf_counter() - t0


def interleaved(runs: dict[str, Callable[[], float]], repeats: int, counts: dict[str, int] | None = None,
                log: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Seconds of each run over `repeats` rounds A, B, C, A, B, C, ... (`counts[name]` < repeats: that run only
    in its first rounds), so load on a shared machine hits every run alike."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(repeats):
        for name, run in runs.items():
            if r < (counts or {}).get(name, repeats):
                times[name].append(float(run()))
                if log:
                    log(f"repeat {r + 1}/{repeats} {name}: {times[name][-1]:.2f} s")
    return times


def minimum(times: dict[str, list[float]]) -> dict[str, float]:
    """The figure of each run: its fastest repeat (what the work allows; load only ever adds)."""
    return {k: min(v) for k, v in times.items() if v}


def spread(times: dict[str, list[float]]) -> dict[str, float]:
    """Slowest minus fastest repeat, seconds."""
    return {k: max(v) - min(v) for k, v in times.items() if v}


def ratio_range(times: dict[str, list[float]], num: str, den: str) -> list[float]:
    """[lowest, highest] of the per-round ratios num/den (rounds pair up the interleaved repeats)."""
    pairs = [a / b for a, b in zip(times[num], times[den])]
    return [min(pairs), max(pairs)] if pairs else []


def measure_latency(ckpt: Checkpoint, tasks: Sequence[Task], label_cfg: LabelConfig, extract_cfg: ExtractConfig,
                    probe, max_step: float, repeats: int = 3, generative_repeats: int = 1,
                    generative_backends: Sequence[str] = ("hf",), generative_dtype: str = "float32") -> dict:
    """Wall seconds of the paths for one checkpoint over `tasks`: the minimum over interleaved repeats, plus
    every repeat (`times`); generative labelling runs in `generative_dtype` (the labels' own). The probe path
    extracts what the probe reads (`probe.reads_`, `plan_extraction`);
    hidden-states-only is the same over the prompts alone: the prompt's states at the layers it reads (every stored
    layer if the probe reads none), no answer token."""
    reads = getattr(probe, "reads_", None)
    probe_cfg, layer_ids = plan_extraction(extract_cfg, reads)
    hidden_reads = None if reads is None else replace(
        reads, answer_loglik=False, alternatives=False, layers=reads.layers if reads.layers != () else None,
        pooling="last" if "answer" in stored_blocks(reads.pooling) else reads.pooling)
    hidden_cfg, _ = plan_extraction(replace(extract_cfg, answer_loglik=False, answer_pool=False, others_pool=False),
                                    hidden_reads)
    before = machine_before()  # before our own work: what other jobs do
    time_floor(ckpt, tasks, extract_cfg)  # warm-up: file cache, kernels
    runs = {"prefill_floor": lambda: time_floor(ckpt, tasks, extract_cfg),
            "probe": lambda: time_probe(ckpt, tasks, probe_cfg, probe, max_step, layer_ids),
            "hidden_states_only": lambda: time_probe(ckpt, tasks, hidden_cfg, None, max_step),
            **{GENERATIVE_KEYS[b]: (lambda b=b: time_generative(ckpt, tasks, label_cfg, b, generative_dtype))
               for b in generative_backends}}
    times = interleaved(runs, repeats, {GENERATIVE_KEYS[b]: generative_repeats for b in generative_backends})
    return {**minimum(times), "times": times, "checkpoint": ckpt.id,
            "n_questions": sum(len(t.questions) for t in tasks), "repeats": repeats,
            "generative_dtype": generative_dtype, "machine": machine_record(before),
            **({"generative_samples": label_cfg.samples} if label_cfg is not None else {})}


def machine_before() -> dict:
    """What other jobs are doing before a measurement begins: the load average and the cores other processes
    keep busy (`others_busy`, a one-second sample)."""
    return {"load_before": machine_load(), "others_busy_before": others_busy()}


def machine_record(before: dict) -> dict:
    """What the machine was doing around a measurement: `before` (`machine_before()`, taken as it began), the
    load now, the cores and torch's threads."""
    return {**before, "load_after": machine_load(), "cores": os.cpu_count(), "torch_threads": torch_threads()}


def machine_load() -> float | None:
    """The 1-minute load average (None where the OS has none). It counts this process's own work of the last
    minutes too (e.g. the demo's evaluation just before its latency), so `others_busy` decides `shared`."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def others_busy(window: float = 1.0) -> float | None:
    """Cores kept busy by *other* processes over `window` seconds, sampled now: the machine's busy CPU time
    (`machine_busy`) minus this process's own (`os.times`, every thread: e.g. OpenMP threads still spinning), per
    second. None where /proc/stat is not readable (not Linux)."""
    own = lambda: sum(os.times()[:2])  # noqa: E731
    b0, o0, t0 = machine_busy(), own(), time.perf_counter()
    if b0 is None:
        return None
    time.sleep(window)
    b1, o1, t1 = machine_busy(), own(), time.perf_counter()
    return round(max(0.0, (b1 - b0) - (o1 - o0)) / (t1 - t0), 2)


def machine_busy() -> float | None:
    """CPU seconds the machine's processes have kept its cores busy since boot (/proc/stat: user, nice, system,
    irq, softirq; guest time is inside user; None where it is not readable). Not idle or iowait, and not steal:
    time the hypervisor gave another virtual machine is no process of this one."""
    try:
        return busy_ticks(Path("/proc/stat").read_text().split("\n", 1)[0]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def busy_ticks(cpu_line: str) -> float:
    """Busy clock ticks of /proc/stat's `cpu` line (`machine_busy`)."""
    fields = [float(x) for x in cpu_line.split()[1:]]
    return sum(fields[i] for i in (0, 1, 2, 5, 6) if i < len(fields))


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def shared(machine: dict | None) -> bool:
    """Were other jobs running when the latency was measured? (other processes kept more than half a core busy
    just before our work began; records without that sample: the load average before, above half a core)"""
    m = machine or {}
    busy = m["others_busy_before"] if m.get("others_busy_before") is not None else m.get("load_before")
    return busy is not None and busy > 0.5


def latency_summary(lat: dict, probe_name: str) -> tuple[dict[str, float], dict]:
    """(`latency_s`, `latency_detail`) blocks of summary.json from a `measure_latency` result: the minimum
    seconds per path; the detail holds the spreads (slowest - fastest repeat) and the per-round ratio ranges."""
    keys = [k for k in ("generative", "generative_vllm", "probe", "prefill_floor", "hidden_states_only") if k in lat]
    seconds = {k: lat[k] for k in keys}
    times = lat.get("times", {})
    detail = {"checkpoint": lat["checkpoint"], "n_questions": lat["n_questions"], "repeats": lat["repeats"],
              "probe_name": probe_name, "figure": "minimum over interleaved repeats",
              "spread_s": spread({k: times[k] for k in keys if k in times}),
              "generative_over_probe": lat["generative"] / lat["probe"],
              "probe_over_floor": lat["probe"] / lat["prefill_floor"],
              "hidden_states_only_over_floor": lat["hidden_states_only"] / lat["prefill_floor"]}
    if "generative_vllm" in lat:
        detail["generative_vllm_over_probe"] = lat["generative_vllm"] / lat["probe"]
    for k in ("generative_dtype", "generative_samples", "machine"):
        if k in lat:
            detail[k] = lat[k]
    if times:
        detail["probe_over_floor_range"] = ratio_range(times, "probe", "prefill_floor")
        detail["hidden_states_only_over_floor_range"] = ratio_range(times, "hidden_states_only", "prefill_floor")
    return seconds, detail


def describe(seconds: dict, detail: dict) -> str:
    """One line for the console: the minimum seconds, the spread and the ratios with their per-round range."""
    sp = detail.get("spread_s", {})
    parts = [f"{k} {v:.2f} s (±{sp.get(k, 0.0):.2f})" for k, v in seconds.items()]
    rng = detail.get("probe_over_floor_range") or [detail["probe_over_floor"]] * 2
    line = (", ".join(parts) + f"; minimum of {detail['repeats']} interleaved repeats (± = slowest - fastest) → "
            f"generative {detail['generative_over_probe']:.1f}× the probe, probe {detail['probe_over_floor']:.2f}× "
            f"the floor (per-round {rng[0]:.2f}-{rng[1]:.2f}×)")
    m = detail.get("machine")
    if shared(m):
        others = m.get("others_busy_before")
        line += (f"; measured beside other jobs ({'' if others is None else f'{others} cores busy with them, '}"
                 f"load {m['load_before']} before, {m['load_after']} after, on {m['cores']} cores): the seconds "
                 f"are upper bounds and a path timed once (generative) is not comparable with the minima")
    return line
