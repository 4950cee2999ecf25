"""Store a training run's frozen tensors once, for runs that probecast does not save itself.

`probecast finetune` splits its checkpoints as it writes them (`hf_folder`). A run saved by a Hugging Face Trainer or
a hand-written loop with frozen layers writes every checkpoint whole; these split each saved folder afterwards into
`model-trained.safetensors` (the parameters that require grad) and a content-named frozen shard, hard-linked to an
earlier checkpoint's shard with the same content, with the standard `model.safetensors.index.json` that transformers,
the Trainer's resume and vLLM load. The folder stays loadable at every moment of the split (the whole file goes last).

    trainer = Trainer(..., callbacks=[ShareFrozenCallback()])
    model.save_pretrained(folder); share_frozen(folder, model)          # a hand-written loop
"""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from probecast.hf_folder import INDEX, split_frozen, trained_names


def share_frozen(folder: str | Path, model) -> bool:
    """Split the single-file checkpoint `folder` that `model` was just saved to (see the module docstring), linking its
    frozen shard to a sibling checkpoint's with the same content. True when the folder is split; a folder whose
    tensors are all trained or all frozen, or that is already sharded, is left as it is."""
    folder = Path(folder)
    split_frozen(folder, trained_names(model), folder.parent, model.state_dict())
    return (folder / INDEX).is_file()


class ShareFrozenCallback(TrainerCallback):
    """`transformers.TrainerCallback`: split every checkpoint the Trainer saves (`output_dir/checkpoint-<step>`) on
    the main process. A checkpoint the Trainer later rotates away (`save_total_limit`) takes nothing from the others:
    a hard link is an ordinary file."""

    def on_save(self, args, state, control, model=None, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and model is not None and folder.is_dir():
            share_frozen(folder, model)
