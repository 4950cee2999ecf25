"""Which transformer blocks a fine-tuning run trains: the top K (`--train-layers`) or all of them (`--full`); shared by
the top-K weights (`train.trainable_parameters`) and the LoRA adapters (`lora.block_linear_names`)."""

from __future__ import annotations

import torch

from probecast.errors import ProbecastError


def top_blocks(model, train_layers: int | None, missing: str) -> list[torch.nn.Module]:
    """The model's top `train_layers` transformer blocks (None: every block); `missing` completes the error for a
    model without a `layers` list."""
    from probecast.features.extract import base_model

    blocks = getattr(base_model(model), "layers", None)
    if blocks is None:
        raise ProbecastError(f"{type(model).__name__}: {missing}")
    if train_layers is None:
        return list(blocks)
    if not 1 <= train_layers <= len(blocks):
        raise ProbecastError(f"--train-layers must be in 1..{len(blocks)}, got {train_layers}")
    return list(blocks[len(blocks) - train_layers:])
