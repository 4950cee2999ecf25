"""Hook the monitor into training: a plain function for hand-written loops and a Hugging Face callback.

All evaluate the model *in memory* (no checkpoint reload) and restore its training mode afterwards. The
PyTorch Lightning callback lives in `monitor/lightning.py` (imported only when lightning is installed).

    monitor = Monitor("W", MonitorConfig(probe="hybrid"))
    for step in range(...):
        ...
        if step % 100 == 0:
            evaluate_step(monitor, model, tokenizer, step)

    trainer = Trainer(..., callbacks=[ProbecastCallback(monitor, tokenizer)])   # on every save
    ProbecastCallback(monitor, tokenizer, every_n_steps=50)                      # or every N steps
"""

from __future__ import annotations

from probecast.monitor.evaluator import Monitor


def evaluate_step(monitor: Monitor, model, tokenizer, step: int, checkpoint: str | None = None,
                  audit: bool | None = None) -> list[dict]:
    """Evaluate `model` at training step `step` and log predicted task scores; returns one record per task."""
    return monitor.evaluate(model, tokenizer, step, checkpoint=checkpoint, source="loop", audit=audit)


def _trainer_callback_base():
    try:
        from transformers import TrainerCallback
    except ImportError:  # pragma: no cover - transformers is a dependency
        return object
    return TrainerCallback


class ProbecastCallback(_trainer_callback_base()):
    """`transformers.TrainerCallback`: evaluate on every checkpoint save (default) or every N optimizer steps.

    The tokenizer is taken from the Trainer (`processing_class`) when not given. Only the main process
    evaluates in distributed runs. Records are named after the checkpoint folder the Trainer writes
    (`checkpoint-<step>`) on save, else `step-<step>`."""

    def __init__(self, monitor: Monitor, tokenizer=None, every_n_steps: int | None = None,
                 on_save: bool | None = None, close_at_end: bool = True) -> None:
        self.monitor, self.tokenizer = monitor, tokenizer
        self.every_n_steps = every_n_steps
        self.eval_on_save = (every_n_steps is None) if on_save is None else on_save
        self.close_at_end = close_at_end
        self.done_steps: set[int] = set()

    def _run(self, state, kwargs, checkpoint: str | None) -> None:
        step = int(state.global_step)
        if step in self.done_steps or not state.is_world_process_zero:
            return
        model = kwargs.get("model")
        tokenizer = self.tokenizer or kwargs.get("processing_class") or kwargs.get("tokenizer")
        if model is None or tokenizer is None:
            raise ValueError("ProbecastCallback: the Trainer gave no model/tokenizer; pass tokenizer= to the callback")
        self.monitor.evaluate(model, tokenizer, step, checkpoint=checkpoint, source="hf_trainer")
        self.done_steps.add(step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self._run(state, kwargs, None)

    def on_save(self, args, state, control, **kwargs):
        if self.eval_on_save:
            self._run(state, kwargs, f"checkpoint-{state.global_step}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.close_at_end:
            self.monitor.close()
