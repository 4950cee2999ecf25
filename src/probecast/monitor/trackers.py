"""Experiment trackers behind the sink interface: TensorBoard, Weights & Biases, MLflow.

None is a hard dependency: each is imported when its sink is made. Where the tracker already has a run open
in this process (the HF Trainer's own W&B / MLflow integration), the sink logs into that run rather than
opening a second one, so the predicted scores sit next to the training loss.

- tensorboard: event files in W/monitor/tensorboard/<run>/ (scalars at the training step).
- wandb: offline by default (WANDB_MODE=offline unless set), files under W/monitor/; the probecast metrics
  get their own step axis `probecast/step` so they never fight the trainer's step counter.
- mlflow: a local file store W/monitor/mlruns unless MLFLOW_TRACKING_URI is set.
"""

from __future__ import annotations

import importlib.util
import os

from probecast.errors import ProbecastError
from probecast.workspace import Workspace, safe_name

PREFIX = "probecast"


def metric_name(task: str | None, what: str) -> str:
    """`probecast/<task>/<what>`, or `probecast/<what>` for run-level metrics: the same names in every tracker."""
    return f"{PREFIX}/{what}" if task is None else f"{PREFIX}/{task}/{what}"


TRACKER_MODULES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}


def available_trackers() -> list[str]:
    return [name for name, module in TRACKER_MODULES.items() if importlib.util.find_spec(module) is not None]


def _require(name: str) -> None:
    if importlib.util.find_spec(TRACKER_MODULES[name]) is None:
        raise ProbecastError(f"--sinks {name}: the {TRACKER_MODULES[name]!r} package is not installed; "
                             f"`pip install {TRACKER_MODULES[name]}` or drop it from --sinks (`--sinks jsonl` logs to "
                             f"W/monitor/predictions.jsonl only)")


class TensorBoardSink:
    def __init__(self, ws: Workspace, run_name: str) -> None:
        _require("tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = ws.monitor_dir / "tensorboard" / safe_name(run_name or "run")
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def log(self, step: int, metrics: dict[str, float], records: list[dict]) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, global_step=int(step))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    def __init__(self, ws: Workspace, run_name: str) -> None:
        _require("wandb")
        import wandb

        self.wandb = wandb
        self.owns_run = wandb.run is None
        if self.owns_run:
            os.environ.setdefault("WANDB_MODE", "offline")
            os.environ.setdefault("WANDB_SILENT", "true")
            ws.monitor_dir.mkdir(parents=True, exist_ok=True)
            self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "probecast"), name=run_name or None,
                                  dir=str(ws.monitor_dir), reinit="create_new")
        else:
            self.run = wandb.run
        step_key = metric_name(None, "step")
        self.run.define_metric(step_key)
        self.run.define_metric(f"{metric_name(None, '')}*", step_metric=step_key)
        self.step_key = step_key

    def log(self, step: int, metrics: dict[str, float], records: list[dict]) -> None:
        self.run.log({self.step_key: int(step), **metrics})

    def close(self) -> None:
        if self.owns_run:
            self.run.finish()


class MLflowSink:
    def __init__(self, ws: Workspace, run_name: str) -> None:
        _require("mlflow")
        import mlflow

        self.mlflow = mlflow
        self.owns_run = mlflow.active_run() is None
        if self.owns_run:
            if not os.environ.get("MLFLOW_TRACKING_URI"):
                store = (ws.monitor_dir / "mlruns").resolve()
                store.mkdir(parents=True, exist_ok=True)
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow >= 3.x: opt in to file stores
                mlflow.set_tracking_uri(store.as_uri())
            mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "probecast"))
            self.run = mlflow.start_run(run_name=run_name or None)
        else:
            self.run = mlflow.active_run()

    def log(self, step: int, metrics: dict[str, float], records: list[dict]) -> None:
        self.mlflow.log_metrics(metrics, step=int(step), run_id=self.run.info.run_id)

    def close(self) -> None:
        if self.owns_run:
            self.mlflow.end_run()


TRACKERS = {"tensorboard": TensorBoardSink, "wandb": WandbSink, "mlflow": MLflowSink}  # sink factories by name
