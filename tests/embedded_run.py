"""Test helpers: the tiny embedded run the fixtures share (seconds on the CPU), and checkpoints that share its
bottom blocks (as top-K fine-tuning leaves them)."""

from __future__ import annotations

from pathlib import Path


def train_tiny(out: Path, n_checkpoints: int) -> Path:
    """An `xs` model trained for 24 steps into `out`, saving `n_checkpoints` checkpoints."""
    from probecast.toy.train import ToyConfig, train_toy

    train_toy(out, ToyConfig(size="xs", steps=24, n_checkpoints=n_checkpoints, warmup=4, batch_size=8, seq_len=64),
              progress=False)
    return out


def retrain_top(model, seed: int, blocks: int = 1, embed: bool = False):
    """A copy of `model` whose top `blocks` blocks (and optionally the embeddings) have other weights, as a
    top-K fine-tuning step leaves them."""
    import copy

    import torch

    m = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    mods = list(m.model.layers)[-blocks:] + ([m.model.embed_tokens] if embed else [])
    with torch.no_grad():
        for mod in mods:
            for p in mod.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=g))
    return m


def save_shared_run(model, tok, root):
    """A run folder: the model at step 0, then two checkpoints whose top block alone was retrained."""
    from probecast.checkpoints import discover_checkpoints

    for step, m in ((0, model), (5, retrain_top(model, 1)), (9, retrain_top(model, 2))):
        m.save_pretrained(root / f"step-{step}")
        tok.save_pretrained(root / f"step-{step}")
    return discover_checkpoints(root)
