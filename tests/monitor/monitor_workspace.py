"""Test helper: a small but real workspace (labels, features, a fitted probe) built from the tiny run."""

from __future__ import annotations

import shutil
from pathlib import Path

TASKS = "add,color"
LIMIT = 10


def build_workspace(root: Path, run: Path, probe: str = "ridge", evaluate: bool = False):
    """Label + extract every checkpoint of `run` (TASKS, LIMIT questions each), then fit `probe` as
    W/probes/<probe> (or, with `evaluate`, run the evaluation protocol, which fits and saves it too)."""
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.features.extract import ExtractConfig
    from probecast.features.workspace_features import extract_workspace
    from probecast.labels.label import LabelConfig
    from probecast.labels.workspace_labels import label_workspace
    from probecast.evaluation.pipeline import evaluate_workspace, fit_workspace
    from probecast.resolve import resolve_tasks
    from probecast.workspace import Workspace

    ws = Workspace(root)
    ckpts = discover_checkpoints(run)
    ws.add_checkpoints(c.to_record() for c in ckpts)
    tasks = resolve_tasks(TASKS, ws, LIMIT, remember=True)
    label_workspace(ws, ckpts, tasks, LabelConfig(samples=2, greedy=False, batch_size=32), progress=False)
    extract_workspace(ws, ckpts, tasks, ExtractConfig(tail_tokens=0, batch_size=32), progress=False)
    if evaluate:
        from probecast.evaluation.splits import SplitConfig

        evaluate_workspace(ws, SplitConfig(n_train_checkpoints=1), probes=[probe],
                           baselines=["carry_forward", "answer_loglik"], show_progress=False)
    else:
        fit_workspace(ws, probe, probe)
    return ws


def copy_checkpoint(src: Path, dst: Path) -> None:
    """Copy a checkpoint folder the way a careful writer does: into a hidden temp folder, then rename."""
    tmp = dst.parent / f".tmp-{dst.name}"
    shutil.copytree(src, tmp)
    tmp.rename(dst)
