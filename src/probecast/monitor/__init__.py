"""In-training monitoring: a checkpoint-folder watcher, training callbacks and tracker sinks.

`Monitor` evaluates an in-memory model with a fitted probe; `ProbecastCallback` (HF Trainer),
`monitor.lightning.ProbecastLightningCallback` (PyTorch Lightning) and `evaluate_step` (hand-written loops)
call it during training; `Watcher` (`probecast watch`) calls it for checkpoints a run writes to disk.
"""

from importlib import import_module

# resolved on first use (PEP 562), so `probecast.monitor.sinks` and the CLI's option lists load without torch and
# transformers, which the callbacks and the evaluator need
_HOME = {"AuditConfig": "audit", "ProbecastCallback": "callbacks", "evaluate_step": "callbacks",
         "Monitor": "evaluator", "MonitorConfig": "evaluator"}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'probecast.monitor' has no attribute {name!r}")
    return getattr(import_module(f"probecast.monitor.{_HOME[name]}"), name)
