"""Reading chosen hidden-state layers as the forward pass produces them, and stopping after the deepest one.

`output_hidden_states=True` keeps every layer's [batch, tokens, dim] state alive until the pass ends, so memory
grows with the depth even when a probe reads two layers, and the pass always runs every block. Instead,
forward hooks on the decoder's parts hand each wanted layer to a callback the moment it is computed (the
callback pools it and lets it go), and when nothing after the deepest wanted layer is needed (no answer
log-likelihood, no cache), the hook of that layer ends the pass: a probe on layer 12 of 30 runs 12 blocks.

Layer indices are those of `hidden_states` in Hugging Face outputs: 0 = the token embeddings, i = the output of
decoder block i (1-based), and the last index (= number of blocks) the final-norm output, which is what
transformers reports as the last hidden state. Models whose decoder does not expose `embed_tokens`, `layers`
and `norm` (the Llama family and most current decoders do) get `None` from `decoder_parts` and the caller
falls back to `output_hidden_states`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import torch


class StopForward(Exception):
    """Raised by the hook of the deepest wanted layer to end the forward pass early."""


def base_model(model):
    """The transformer without its LM head (e.g. LlamaModel inside LlamaForCausalLM)."""
    return getattr(model, model.base_model_prefix)


def decoder_parts(base) -> tuple[torch.nn.Module, list[torch.nn.Module], torch.nn.Module] | None:
    """(embedding, decoder blocks, final norm) of a decoder-only transformer, or None if it has no such parts."""
    embed, layers, norm = (getattr(base, k, None) for k in ("embed_tokens", "layers", "norm"))
    if not isinstance(embed, torch.nn.Module) or not isinstance(layers, torch.nn.ModuleList) or norm is None:
        return None
    n = getattr(getattr(base, "config", None), "num_hidden_layers", len(layers))
    return embed, list(layers)[:n], norm


def _tensor(output) -> torch.Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


@contextmanager
def tap_layers(base, wanted: Iterable[int], on_state: Callable[[int, torch.Tensor], None],
               stop_after: int | None = None) -> Iterator[None]:
    """While active, every forward of `base` calls `on_state(index, state [b, t, D])` for each wanted
    hidden_states index, in depth order; with `stop_after` set, the hook of that index then raises
    `StopForward` (catch it around the call: `run_tapped`)."""
    parts = decoder_parts(base)
    if parts is None:
        raise ValueError("tap_layers: the model has no embed_tokens/layers/norm; use output_hidden_states")
    embed, blocks, norm = parts
    modules = [embed, *blocks[:-1], norm]  # hidden_states index i is produced by modules[i]
    handles = []

    def hook_for(index: int):
        def hook(module, args, output):
            on_state(index, _tensor(output))
            if stop_after is not None and index == stop_after:
                raise StopForward

        return hook

    try:
        for index in sorted(set(wanted)):
            handles.append(modules[index].register_forward_hook(hook_for(index)))
        yield
    finally:
        for h in handles:
            h.remove()


def run_tapped(base, stop_after: int | None, **inputs):
    """`base(**inputs)`, or None when a tap ended the pass early at `stop_after`."""
    try:
        return base(**inputs)
    except StopForward:
        if stop_after is None:
            raise
        return None
