"""In-training monitoring: a checkpoint-folder watcher, training callbacks and tracker sinks.

`Monitor` evaluates an in-memory model with a fitted probe; `ProbecastCallback` (HF Trainer),
`monitor.lightning.ProbecastLightningCallback` (PyTorch Lightning) and `evaluate_step` (hand-written loops)
call it during training; `Watcher` (`probecast watch`) calls it for checkpoints a run writes to disk.
"""

from probecast.monitor.audit import AuditConfig
from probecast.monitor.callbacks import ProbecastCallback, evaluate_step
from probecast.monitor.evaluator import Monitor, MonitorConfig

__all__ = ["AuditConfig", "Monitor", "MonitorConfig", "ProbecastCallback", "evaluate_step"]
