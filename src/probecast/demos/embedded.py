"""`probecast demo`: the whole probe pipeline on the embedded default, end to end.

embedded training run → generative labels on every checkpoint (the early ones train the probes, the later
ones score them) → prefill features → probes and baselines → evaluation (earlier predicts later, held-out
questions) → latency accounting → DIR/summary.json, DIR/evaluation/task_scores.png and a results table.
DIR is a complete workspace: `--ws DIR` works for predict, evaluate, watch and report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from probecast.demos.clock import StageClock
from probecast.demos.settings import check_settings
from probecast.io import write_json_atomic
from probecast.runtime import library_versions


@dataclass(frozen=True)
class DemoConfig:
    quick: bool = False
    size: str = "m"
    questions_per_task: int = 120
    samples: int = 8
    train_fraction: float = 1 / 3  # probes learn from the checkpoints in this first part of training
    tail_tokens: int = 8
    seed: int = 0  # the training run's (initialisation and data order); 0 = the README's run

    @classmethod
    def make(cls, quick: bool, size: str, questions: int | None = None, seed: int = 0) -> "DemoConfig":
        cfg = (cls(quick=True, size=size, questions_per_task=60, samples=4) if quick
               else cls(size=size))
        return replace(cfg, questions_per_task=questions or cfg.questions_per_task, seed=seed)


def run_demo(out: Path, cfg: DemoConfig, progress: bool = True) -> dict:
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.features.extract import ExtractConfig
    from probecast.features.latency import latency_summary, measure_latency
    from probecast.features.workspace_features import extract_workspace
    from probecast.labels.label import LabelConfig
    from probecast.labels.workspace_labels import label_workspace
    from probecast.probes.base import load_probe
    from probecast.evaluation.splits import SplitConfig
    from probecast.evaluation.pipeline import evaluate_workspace
    from probecast.resolve import resolve_tasks
    from probecast.toy.train import ToyConfig, train_toy
    from probecast.workspace import Workspace

    clock = StageClock()
    ws = Workspace(out)
    check_settings(ws.root, "embedded", cfg)
    toy = replace(ToyConfig.quick(cfg.size) if cfg.quick else ToyConfig(size=cfg.size), seed=cfg.seed)
    train_toy(ws.run_dir, toy, progress=progress)
    clock.lap("train")
    ckpts = discover_checkpoints(ws.run_dir)
    ws.add_checkpoints(c.to_record() for c in ckpts)
    tasks = resolve_tasks("synthetic", ws, cfg.questions_per_task, remember=True)
    label_cfg = LabelConfig(samples=cfg.samples, greedy=False)
    extract_cfg = ExtractConfig(tail_tokens=cfg.tail_tokens)
    label_workspace(ws, ckpts, tasks, label_cfg, progress=progress)
    clock.lap("labels")
    extract_workspace(ws, ckpts, tasks, extract_cfg, progress=progress)
    clock.lap("features")
    early = [c.id for c in ckpts if (c.step or 0) <= cfg.train_fraction * toy.steps]
    evaluate_workspace(ws, split=SplitConfig(train_checkpoints=early), show_progress=progress)
    clock.lap("evaluate")
    summary = ws.read_summary()
    best = summary["best_probe"]
    latency = measure_latency(ckpts[-1], tasks, label_cfg, extract_cfg, load_probe(ws.probe_dir(best)),
                              max_step=max(c.step or 0 for c in ckpts))
    summary["latency_s"], summary["latency_detail"] = latency_summary(latency, best)
    clock.lap("latency")
    summary["plot"] = str(Path("evaluation") / "task_scores.png")
    summary["demo"] = {"quick": cfg.quick, "size": cfg.size, "questions_per_task": cfg.questions_per_task, "seed": cfg.seed,
                       "samples": cfg.samples, "train_steps": toy.steps,
                       "stage_seconds": clock.seconds, "wall_time_s": clock.total(),
                       "versions": library_versions()}
    write_json_atomic(ws.summary_file, summary)
    return summary
