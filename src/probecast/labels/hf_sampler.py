"""Batched sampling on a Hugging Face causal LM that stops computing a row once it has finished.

`model.generate` keeps every row of a batch in every forward pass until the last row stops: a batch of 64 samples
whose answers are two tokens long but one of which rambles to `max_new_tokens` costs 64 × max_new_tokens token
passes. Labelling samples many short answers (a few tokens, stopped at a newline) at temperature 1, where some
sample nearly always rambles, so most of that work is wasted. This loop is `generate`'s sampling, step for step,
with one difference: after each step the rows that ended (an EOS id, a stop string, or max_new_tokens) leave the
batch and their KV cache rows are dropped (`DynamicCache.batch_select_indices`), the way continuous-batching
engines (vLLM) free a finished sequence.

What it reproduces of `generate` (transformers 5): one prefill of the left-padded prompts (positions counted over
real tokens only), the prompt's cache shared by its n samples (`batch_repeat_interleave`, what vLLM's `n` does
with its prefix cache), float32 logits, EOS suppressed before `min_new_tokens`, temperature then nucleus (top-p)
filtering, `torch.multinomial` (seeded by the caller) or argmax when greedy. HF's continuous batching
(`generate_batch`) does the same on paged attention, but on this CPU it was ~30× slower than `generate` for
SmolLM2 (2026-12-06), so the loop stays here.
"""

from __future__ import annotations

from typing import Sequence

import torch


def _filter_top_p(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """transformers' TopPLogitsWarper: drop the least likely tokens whose total probability is ≤ 1 − top_p
    (at least one token kept)."""
    sorted_logits, sorted_idx = torch.sort(logits, descending=False)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cum <= (1 - top_p)
    remove[..., -1:] = False
    return logits.masked_fill(remove.scatter(1, sorted_idx, remove), float("-inf"))


def _next_tokens(logits: torch.Tensor, greedy: bool, temperature: float, top_p: float) -> torch.Tensor:
    if greedy:
        return logits.argmax(dim=-1)
    if temperature != 1.0:
        logits = logits / temperature
    if top_p < 1.0:
        logits = _filter_top_p(logits, top_p)
    return torch.multinomial(logits.softmax(dim=-1), num_samples=1).squeeze(1)


def sample_compacting(model, ids: torch.Tensor, mask: torch.Tensor, n: int, *, max_new_tokens: int,
                      min_new_tokens: int = 0, eos_ids: Sequence[int] = (), stop_strings: Sequence[str] = (),
                      tokenizer=None, greedy: bool = False, temperature: float = 1.0,
                      top_p: float = 1.0) -> list[list[int]]:
    """The new tokens of n samples of each left-padded prompt (rows i·n … i·n + n − 1 belong to prompt i), EOS
    or stop-string token included where a row stopped. Raises TypeError/AttributeError when the model does not
    take a DynamicCache with position ids (the caller then falls back to `generate`)."""
    from transformers import DynamicCache

    if stop_strings and tokenizer is None:
        raise ValueError("stop strings need the tokenizer")
    cache = DynamicCache(config=model.config)
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True,
                logits_to_keep=1)
    logits = out.logits[:, -1].float()
    if n > 1:
        cache.batch_repeat_interleave(n)
        logits, mask, positions = (t.repeat_interleave(n, 0) for t in (logits, mask, positions))
    rows = torch.arange(logits.shape[0])  # original row of each row still in the batch
    last_pos = positions[:, -1]
    generated: list[list[int]] = [[] for _ in range(logits.shape[0])]
    eos = torch.tensor(sorted(set(eos_ids)), dtype=torch.long, device=logits.device)
    for t in range(max_new_tokens):
        if t < min_new_tokens and len(eos):
            logits[:, eos] = float("-inf")
        tokens = _next_tokens(logits, greedy, temperature, top_p)
        done = (torch.isin(tokens, eos) if len(eos) else torch.zeros_like(tokens, dtype=torch.bool)).tolist()
        for j, (r, tok) in enumerate(zip(rows.tolist(), tokens.tolist())):
            generated[r].append(tok)
            if stop_strings and not done[j] and t + 1 >= min_new_tokens:
                text = tokenizer.decode(generated[r], skip_special_tokens=True)
                done[j] = any(s in text for s in stop_strings)
        if t + 1 == max_new_tokens or all(done):
            break
        if any(done):
            keep = torch.tensor([j for j, d in enumerate(done) if not d], dtype=torch.long)
            cache.batch_select_indices(keep.to(mask.device))
            rows = rows[keep]
            tokens, mask, last_pos = (x[keep.to(x.device)] for x in (tokens, mask, last_pos))
        mask = torch.cat([mask, mask.new_ones(len(rows), 1)], dim=1)
        last_pos = last_pos + 1
        out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                    past_key_values=cache, use_cache=True)
        logits = out.logits[:, -1].float()
    return generated
