"""PyTorch Lightning `Callback` (importable only where `lightning` or `pytorch_lightning` is installed).

The LightningModule usually wraps the Hugging Face model; `model_attr` names the attribute that holds it
(default `model`; the module itself is used when it has no such attribute). Evaluates every N optimizer
steps and/or on every checkpoint save, in memory, on global rank zero only.
"""

from __future__ import annotations

try:
    from lightning.pytorch import Callback
except ImportError:  # the old package name
    from pytorch_lightning import Callback  # noqa: F401  (ImportError propagates when neither is installed)

from probecast.monitor.evaluator import Monitor


class ProbecastLightningCallback(Callback):
    def __init__(self, monitor: Monitor, tokenizer, every_n_steps: int | None = None, on_save: bool | None = None,
                 model_attr: str = "model", close_at_end: bool = True) -> None:
        super().__init__()
        self.monitor, self.tokenizer, self.model_attr = monitor, tokenizer, model_attr
        self.every_n_steps = every_n_steps
        self.eval_on_save = (every_n_steps is None) if on_save is None else on_save
        self.close_at_end = close_at_end
        self.done_steps: set[int] = set()

    def _run(self, trainer, pl_module) -> None:
        step = int(trainer.global_step)
        if step in self.done_steps or not trainer.is_global_zero:
            return
        model = getattr(pl_module, self.model_attr, pl_module)
        self.monitor.evaluate(model, self.tokenizer, step, source="lightning")
        self.done_steps.add(step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every_n_steps and trainer.global_step > 0 and trainer.global_step % self.every_n_steps == 0:
            self._run(trainer, pl_module)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if self.eval_on_save:
            self._run(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if self.close_at_end:
            self.monitor.close()
