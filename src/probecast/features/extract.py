"""Feature extraction: ONE batched forward pass per question over `prompt + reference answer`.

Causal attention means the hidden states at prompt positions do not see the appended answer, so the same pass
gives both the prompt features (pooled at the last prompt token and as a mean over prompt tokens, at every
kept layer, plus optionally the last T token states) and the teacher-forced log-likelihood of the reference
final answer. The LM head runs only on the answer positions (a full-vocabulary head over every position
would cost more than the transformer for small models). Rows are right-padded so positions match those of
generation, and batches are formed from length-sorted prompts to waste little on padding.

When a question lists other valid continuations (`Question.alternatives`, e.g. a scratchpad in another order),
each is scored on top of the same pass's key/value cache of the prompt — only its own tokens are computed —
and `answer_loglik_paths` is the log-sum-exp over all of them: the probability that a temperature-1 sample
follows *some* valid path, which is what pass@1 measures (`answer_loglik`, one path, under-counts it by about
the number of paths). Probes use it on labelled checkpoints to learn each task's path multiplicity; at
prediction time they need only the canonical path, so `alternatives=False` keeps the probe pass cheap (unless
the probe calibrates every row's own paths: `Probe.needs_alternatives`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch

from probecast.tasks.schema import Task


@dataclass(frozen=True)
class ExtractConfig:
    layers: tuple[int, ...] | None = None  # indices into hidden_states (0 = embeddings); None = all
    mean_pool: bool = True
    tail_tokens: int = 0  # keep the last T prompt-token states (attention probes); 0 = off
    tail_layer: int = -1  # which hidden_states index the tail comes from
    answer_loglik: bool = True
    alternatives: bool = True  # also score each question's other valid continuations (answer_loglik_paths)
    dtype: str = "float16"  # storage dtype
    batch_size: int = 32  # on 2 CPU cores 32 rows per pass beat 64 and more (cache-friendlier)

    def to_dict(self) -> dict:
        return asdict(self)


def reference_answer(task: Task, question) -> str:
    """The continuation scored for answer log-likelihood: the gold choice (MC) or the reference solution
    (the canonical target, e.g. a worked solution or scratchpad; the final answer when there is none).

    For a multi-step task this is the probability of one valid path, a lower bound on pass@1 that the probes
    calibrate; scoring only the final answer right after the prompt would ask the model for an answer in a
    form it never produces."""
    return task.reference_continuation(question)


def encode(tokenizer, task: Task, with_answer: bool) -> tuple[list[list[int]], list[int]]:
    """Token ids of prompt (+ answer) per question, and each prompt's length."""
    seqs, prompt_lens = [], []
    for q in task.questions:
        ctx = tokenizer(task.prompt(q)).input_ids
        ans = tokenizer(reference_answer(task, q), add_special_tokens=False).input_ids if with_answer else []
        seqs.append(ctx + ans)
        prompt_lens.append(len(ctx))
    return seqs, prompt_lens


def encode_alternatives(tokenizer, task: Task) -> list[list[list[int]]]:
    """Token ids of each question's other valid continuations (empty lists when it has none)."""
    out = []
    for q in task.questions:
        ids = (tokenizer(a, add_special_tokens=False).input_ids for a in task.alternative_continuations(q))
        out.append([x for x in ids if x])  # an empty continuation has no likelihood to add
    return out


def alternatives_loglik(base, head, cache, last_prompt_state: torch.Tensor, width: int, plens: torch.Tensor,
                        alts: list[list[list[int]]], pad: int) -> torch.Tensor:
    """[b, J] log-likelihood of the j-th alternative continuation of each row (-inf where a row has none).

    `cache` holds the batch's main pass (width `width`, right-padded); every alternative attends to its row's
    prompt only (cache positions >= prompt length are masked) at positions continuing the prompt, and the
    cache is cropped back after each alternative."""
    device = plens.device
    b, J = len(alts), max((len(a) for a in alts), default=0)
    out = torch.full((b, J), float("-inf"), device=device)
    for j in range(J):
        toks = [a[j] if j < len(a) else [pad] for a in alts]
        has = torch.tensor([j < len(a) for a in alts], device=device)
        ids, new_mask = _pad_right(toks, pad)
        ids, new_mask = ids.to(device), new_mask.to(device)
        n = ids.shape[1]
        past_mask = (torch.arange(width, device=device)[None, :] < plens[:, None]).long()
        pos = plens[:, None] + torch.arange(n, device=device)[None, :]
        res = base(input_ids=ids, attention_mask=torch.cat([past_mask, new_mask], dim=1), position_ids=pos,
                   past_key_values=cache, use_cache=True)
        cache.crop(-(cache.get_seq_length() - width))  # negative = tokens to drop (transformers 4 and 5)
        states = torch.cat([last_prompt_state[:, None], res.last_hidden_state[:, :-1]], dim=1)  # predicts ids
        logp = torch.log_softmax(head(states[new_mask.bool()]).float(), dim=-1)
        tok_ll = logp[torch.arange(len(logp), device=device), ids[new_mask.bool()]]
        rows = torch.arange(b, device=device)[:, None].expand(b, n)[new_mask.bool()]
        sums = torch.zeros(b, device=device).index_add_(0, rows, tok_ll)
        out[:, j] = torch.where(has, sums, out[:, j])
    return out


def _batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    order = np.argsort(lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _pad_right(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids, mask


def base_model(model):
    """The transformer without its LM head (e.g. LlamaModel inside LlamaForCausalLM)."""
    return getattr(model, model.base_model_prefix)


@torch.inference_mode()
def extract_task(model, tokenizer, task: Task, cfg: ExtractConfig) -> tuple[dict[str, np.ndarray], float]:
    """Arrays for every question of `task` (in task order) and the wall time of the pass."""
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    seqs, plens = encode(tokenizer, task, cfg.answer_loglik)
    alts = encode_alternatives(tokenizer, task) if cfg.answer_loglik and cfg.alternatives else [[]] * len(seqs)
    n = len(seqs)
    base, head = base_model(model), model.get_output_embeddings()
    n_hidden = model.config.num_hidden_layers + 1
    layers = list(range(n_hidden)) if cfg.layers is None else [l % n_hidden for l in cfg.layers]
    dim = model.config.hidden_size
    out_dtype = np.float16 if cfg.dtype == "float16" else np.float32
    last = np.zeros((n, len(layers), dim), out_dtype)
    mean = np.zeros((n, len(layers), dim), out_dtype) if cfg.mean_pool else None
    T = cfg.tail_tokens
    tail = np.zeros((n, T, dim), out_dtype) if T else None
    tail_mask = np.zeros((n, T), bool) if T else None
    ll = np.full(n, np.nan, np.float32)
    ll_mean = np.full(n, np.nan, np.float32)
    ll_paths = np.full(n, np.nan, np.float32)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for idx in _batches([len(s) for s in seqs], cfg.batch_size):
        ids, mask = _pad_right([seqs[i] for i in idx], pad)
        with_alts = any(alts[i] for i in idx)
        out = base(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True,
                   use_cache=with_alts)
        hs = torch.stack([out.hidden_states[l] for l in layers], dim=1).float()  # [b, L, t, D]
        pl = torch.tensor([plens[i] for i in idx], device=device)
        rows = torch.arange(len(idx), device=device)
        last[idx] = hs[rows, :, pl - 1].cpu().numpy()
        if mean is not None:
            pmask = (torch.arange(hs.shape[2], device=device)[None, :] < pl[:, None]).float()  # [b, t]
            mean[idx] = (torch.einsum("bltd,bt->bld", hs, pmask) / pl[:, None, None]).cpu().numpy()
        if T:  # last T prompt positions (clamped at 0; masked where the prompt is shorter)
            src = out.hidden_states[cfg.tail_layer].float()
            offs = pl[:, None] - T + torch.arange(T, device=device)[None, :]  # [b, T]
            tail[idx] = src[rows[:, None], offs.clamp(min=0)].cpu().numpy()
            tail_mask[idx] = (offs >= 0).cpu().numpy()
        if cfg.answer_loglik:  # LM head on answer positions only, all rows at once
            lens = torch.tensor([len(seqs[i]) for i in idx], device=device)
            pos = (torch.arange(ids.shape[1], device=device)[None, :] >= (pl - 1)[:, None]) & \
                  (torch.arange(ids.shape[1], device=device)[None, :] < (lens - 1)[:, None])
            r, t = pos.nonzero(as_tuple=True)
            if len(r):
                logp = torch.log_softmax(head(out.last_hidden_state[r, t]).float(), dim=-1)
                tok_ll = logp[torch.arange(len(r), device=device), ids.to(device)[r, t + 1]]
                sums = torch.zeros(len(idx), device=device).index_add_(0, r, tok_ll)
                counts = (lens - pl).clamp(min=1).float()
                has = (lens > pl).cpu().numpy()
                ll[idx[has]] = sums.cpu().numpy()[has]
                ll_mean[idx[has]] = (sums / counts).cpu().numpy()[has]
                if with_alts:  # log-sum-exp over the canonical path and every alternative
                    other = alternatives_loglik(base, head, out.past_key_values, out.last_hidden_state[rows, pl - 1],
                                                ids.shape[1], pl, [alts[i] for i in idx], pad)
                    sums = torch.logsumexp(torch.cat([sums[:, None], other], dim=1), dim=1)
                ll_paths[idx[has]] = sums.cpu().numpy()[has]
    arrays = {"hidden_last": last, "hidden_mean": mean, "tail": tail, "tail_mask": tail_mask,
              "answer_loglik": ll if cfg.answer_loglik else None,
              "answer_loglik_mean": ll_mean if cfg.answer_loglik else None,
              "answer_loglik_paths": ll_paths if cfg.answer_loglik and cfg.alternatives else None}
    return arrays, time.perf_counter() - t0


@torch.inference_mode()
def bare_forward(model, tokenizer, task: Task, batch_size: int) -> float:
    """The floor a probe cannot beat: the transformer over the same prompts, same batching, nothing kept."""
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    seqs, _ = encode(tokenizer, task, with_answer=False)
    base = base_model(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for idx in _batches([len(s) for s in seqs], batch_size):
        ids, mask = _pad_right([seqs[i] for i in idx], pad)
        base(input_ids=ids.to(device), attention_mask=mask.to(device))
    return time.perf_counter() - t0
