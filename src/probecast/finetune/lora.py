"""LoRA for `probecast finetune --lora R` (Hu et al. 2021, arXiv 2106.09685), through peft.

Every linear layer of the chosen blocks (the top `train_layers`, or all of them) gets a rank-R adapter
W + (alpha/R)·B·A with A random and B zero, so step 0 is the starting model; only the adapters train. A saved
checkpoint is a plain model of the starting architecture whose weights are W + the adapter's delta (computed
apart; the training weights are never merged in place), so everything downstream (extraction, labels, vLLM, the
shared-prefix check that reads the weights) sees an ordinary HF checkpoint.
"""

from __future__ import annotations

import copy

import torch

from probecast.errors import ProbecastError
from probecast.finetune.blocks import top_blocks


def block_linear_names(model, train_layers: int | None) -> list[str]:
    """Full module names of the linear layers inside the top `train_layers` blocks (None: every block)."""
    chosen = {id(b) for b in top_blocks(model, train_layers, "no `layers` list of blocks to put LoRA adapters on")}
    names = []
    for name, module in model.named_modules():
        if id(module) in chosen:
            names += [f"{name}.{sub}" for sub, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    return names


def wrap_lora(model, rank: int, alpha: float | None, train_layers: int | None, seed: int):
    """(peft model whose trainable parameters are the adapters, a frozen plain copy of `model` to save into)."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as e:
        raise ProbecastError("--lora needs peft: pip install 'probecast[lora]'") from e
    if rank < 1:
        raise ProbecastError(f"--lora must be a rank >= 1, got {rank}")
    plain = copy.deepcopy(model).eval()
    for p in plain.parameters():
        p.requires_grad_(False)
    torch.manual_seed(seed)  # the adapters' A matrices
    config = LoraConfig(r=rank, lora_alpha=alpha if alpha is not None else 2.0 * rank, lora_dropout=0.0,
                        target_modules=block_linear_names(model, train_layers), bias="none")
    return get_peft_model(model, config), plain


@torch.no_grad()
def merged_into(peft_model, plain):
    """Write the starting weights + every adapter's current delta into `plain` (the training model untouched)."""
    from peft.tuners.lora import LoraLayer

    deltas = {}
    for name, module in peft_model.base_model.model.named_modules():
        if isinstance(module, LoraLayer):
            deltas[f"{name}.weight"] = sum(module.get_delta_weight(a) for a in module.active_adapters)
    state = plain.state_dict()
    base_state = {k.replace(".base_layer.", "."): v for k, v in peft_model.base_model.model.state_dict().items()
                  if "lora_" not in k}
    for key, value in state.items():
        value.copy_(base_state[key] + deltas[key] if key in deltas else base_state[key])
    return plain
