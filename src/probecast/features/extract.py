"""Feature extraction: ONE batched forward pass per question over `prompt + reference answer`.

Causal attention means the hidden states at prompt positions do not see the appended answer, so the same pass
gives both the prompt features (pooled at the last prompt token and as a mean over prompt tokens, at every
kept layer, plus optionally the last T token states), the mean state over the reference answer's tokens at
every kept layer (what the checkpoint makes of the right answer, read without its likelihood), the checkpoint's
next-token distribution after the prompt
(`next_token_stats`: the final state read through its own LM head, one row per question) and the
teacher-forced log-likelihood of the reference final answer. The LM head runs only on the answer positions and
the last prompt token (a full-vocabulary head over every position would cost more than the transformer for
small models). Rows are right-padded so positions match those of
generation, and batches are formed from length-sorted prompts to waste little on padding, with at most
`batch_size` rows and `batch_tokens` padded tokens each (long prompts get fewer rows per pass).

Only the layers kept are read, each pooled the moment the pass produces it (forward hooks, `layer_tap.py`; what is
kept of a layer, `pooling.py`), so memory does not grow with the number of layers kept; without the answer's
log-likelihood and the next-token distribution (`answer_loglik=False, next_token=False`) the pass stops after the
deepest layer kept, so a probe on a middle layer costs less than the full-model floor. The answer's tokens are in
the pass when its log-likelihood or its states are asked for (`answer_pool`; its states alone need no LM head and
no block above the deepest kept layer); `answer_loglik=False, answer_pool=False, others_pool=False` passes the
prompts alone. What a fitted probe reads becomes an `ExtractConfig` in `plan.py`.

For a multiple-choice question the reference answer is the gold choice, whose states alone say little about
whether the checkpoint prefers it: pass@1 is which choice the checkpoint's likelihood ranks first. `others_pool`
adds each other choice (prompt + choice) as an extra row of the same batches and keeps the mean of their pooled
answer states (`hidden_others`), so a probe can read the gold choice against the others (`pooling="contrast"`).

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

from probecast.features.encoding import encode, encode_alternatives, encode_others, reference_answer  # noqa: F401
from probecast.features.layer_tap import base_model, decoder_parts, run_tapped, tap_layers  # noqa: F401 (base_model)
from probecast.features.pooling import Pooler, answer_span, others_mean
from probecast.features.shared_prefix import TaskPrefix, checked, forward_from, needs_check
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
    batch_size: int = 32  # at most this many rows per pass (on 2 CPU cores 32 beat 64 and more: cache-friendlier)
    batch_tokens: int | None = 4096  # ... and at most this many padded tokens (rows x longest); None = no limit
    next_token: bool = True  # the checkpoint's own next-token distribution at the last prompt token (`NEXT_TOKEN`)
    answer_pool: bool = True  # the mean state over the reference answer's tokens, every kept layer (`answer_span`);
    #                           puts the answer's tokens in the pass (without answer_loglik: no LM head, early exit)
    others_pool: bool = True  # multiple choice: the same mean over each other choice's tokens, averaged over the
    #                           other choices (`hidden_others`; extra rows of the pass, prompt + other choice)

    def to_dict(self) -> dict:
        return asdict(self)


NEXT_TOKEN = ("max_logprob", "neg_entropy", "margin")  # FeatureSet.next_token columns


def next_token_stats(head, final: torch.Tensor) -> torch.Tensor:
    """[b, 3] statistics of the next-token distribution the checkpoint gives after the prompt: the final
    (normed) hidden state at the last prompt token read through the checkpoint's own LM head (the logit lens
    at the last layer): the top log-probability, minus the entropy, and the top-1 − top-2 log-probability
    margin. No answer token is read: how sure the model is of how to start its answer."""
    weight = getattr(head, "weight", None)
    logp = torch.log_softmax(head(final.to(weight.dtype if weight is not None else final.dtype)).float(), dim=-1)
    top = logp.topk(2, dim=-1).values
    return torch.stack([top[:, 0], (logp.exp() * logp).sum(-1), top[:, 0] - top[:, 1]], dim=1)


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
        ids, new_mask = pad_right(toks, pad)
        ids, new_mask = ids.to(device), new_mask.to(device)
        n = ids.shape[1]
        past_mask = (torch.arange(width, device=device)[None, :] < plens[:, None]).long()
        pos = plens[:, None] + torch.arange(n, device=device)[None, :]
        res = base(input_ids=ids, attention_mask=torch.cat([past_mask, new_mask], dim=1), position_ids=pos,
                   use_cache=True, **{cache_argument(base): cache})
        cache.crop(-(cache.get_seq_length() - width))  # negative = tokens to drop (transformers 4 and 5)
        states = torch.cat([last_prompt_state[:, None], res.last_hidden_state[:, :-1]], dim=1)  # predicts ids
        logp = torch.log_softmax(head(states[new_mask.bool()]).float(), dim=-1)
        tok_ll = logp[torch.arange(len(logp), device=device), ids[new_mask.bool()]]
        rows = torch.arange(b, device=device)[:, None].expand(b, n)[new_mask.bool()]
        sums = torch.zeros(b, device=device).index_add_(0, rows, tok_ll)
        out[:, j] = torch.where(has, sums, out[:, j])
    return out


def cache_argument(base) -> str:
    """The keyword a model's forward takes its key/value cache by: `cache` in current transformers (which
    warns that `past_key_values` is deprecated), `past_key_values` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def output_cache(out):
    """The key/value cache of a model output (`cache`, formerly `past_key_values`), without the deprecation
    warning the old name now prints."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out["past_key_values"]


def length_batches(lengths: Sequence[int], batch_size: int, batch_tokens: int | None = None) -> list[np.ndarray]:
    """Length-sorted batches of at most `batch_size` rows and (when set) at most `batch_tokens` padded tokens
    (rows x the longest row); a row longer than the budget forms a batch of its own."""
    order = np.argsort(lengths, kind="stable")
    out, cur = [], []
    for i in order:  # ascending lengths: adding row i makes it the widest of the batch
        if cur and (len(cur) >= batch_size or (batch_tokens and (len(cur) + 1) * lengths[i] > batch_tokens)):
            out.append(np.array(cur, dtype=np.int64))
            cur = []
        cur.append(int(i))
    if cur:
        out.append(np.array(cur, dtype=np.int64))
    return out


def pad_right(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids, mask


def resolve_layers(cfg: ExtractConfig, n_hidden: int) -> list[int]:
    """The hidden_states indices `cfg` keeps, in order (negative indices count from the last)."""
    return list(range(n_hidden)) if cfg.layers is None else [l % n_hidden for l in cfg.layers]


def _stop(base, wanted: set[int], full: bool) -> int | None:
    """The hidden_states index after which the pass can stop (None: run to the end)."""
    deepest, n_blocks = max(wanted, default=0), len(decoder_parts(base)[1])
    return None if full or deepest >= n_blocks else deepest


def _forward(base, ids, mask, layers: list[int], pooler: Pooler, use_cache: bool, full: bool, tap: bool):
    """One batch through the transformer, feeding `pooler` each wanted layer; returns the model output, or
    None when the pass stopped after the deepest wanted layer (`full=False`: nothing later is needed)."""
    wanted = pooler.wanted(layers)
    if tap and decoder_parts(base) is not None:
        stop = _stop(base, wanted, full)
        with tap_layers(base, wanted, pooler, stop_after=stop):
            return run_tapped(base, stop, input_ids=ids, attention_mask=mask, use_cache=use_cache)
    out = base(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=use_cache)
    for l in sorted(wanted):  # models without embed_tokens/layers/norm: every layer is kept by transformers
        pooler(l, out.hidden_states[l])
    return out


def _replay(base, state, mask, depth: int, layers: list[int], pooler: Pooler, full: bool):
    """`_forward` from a kept hidden_states[`depth`] (`shared_prefix`): only the blocks above it run."""
    wanted = pooler.wanted(layers)
    stop = _stop(base, wanted, full)
    if stop is not None and stop <= depth:  # everything wanted was pooled below the kept layer
        return None
    return forward_from(base, state, mask, depth, wanted, pooler, stop)


def _same_replay(base, kept: torch.Tensor, mask, depth: int, layers: list[int], full_pass: Pooler, out,
                 full: bool) -> bool | None:
    """Does a replay from the kept state give what the full pass gave? (A decoder that transforms
    `inputs_embeds` before its first block would not.) None: nothing above the kept layer to compare."""
    p = Pooler(list(full_pass.pos), full_pass.pl, full_pass.mean, full_pass.tail_layer, full_pass.T,
                final_layer=full_pass.final_layer, answer=full_pass.answer)
    again = _replay(base, kept, mask, depth, layers, p, full)
    pairs = [(p.last_out[i], t) for i, t in full_pass.last_out.items() if i > depth]
    if full_pass.final_out is not None:
        pairs.append((p.final_out, full_pass.final_out))
    if out is not None and again is not None:
        pairs.append((again.last_hidden_state, out.last_hidden_state))
    if not pairs:
        return None
    return all(torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5) for a, b in pairs)


@torch.inference_mode()
def extract_task(model, tokenizer, task: Task, cfg: ExtractConfig, tap: bool = True,
                 prefix: TaskPrefix | None = None) -> tuple[dict[str, np.ndarray], float]:
    """Arrays for every question of `task` (in task order) and the wall time of the pass.

    `tap=False` reads the layers from `output_hidden_states` (every layer kept, the full model run) instead of
    hooks with early exit: the reference the tests compare against. `prefix` (`shared_prefix.PrefixStates.plan`):
    keep this checkpoint's state at the shared depth, or start from the reference's (same features, fewer blocks)."""
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    seqs, plens = encode(tokenizer, task, cfg.answer_loglik or cfg.answer_pool)
    alts = encode_alternatives(tokenizer, task) if cfg.answer_loglik and cfg.alternatives else [[]] * len(seqs)
    n_questions = len(seqs)
    others, other_plens, owner = (encode_others(tokenizer, task, [s[:p] for s, p in zip(seqs, plens)])
                                  if cfg.others_pool else ([], [], []))
    seqs, plens, alts = seqs + others, plens + other_plens, alts + [[]] * len(others)  # rows >= n_questions
    n = len(seqs)
    base, head = base_model(model), model.get_output_embeddings()
    n_hidden = model.config.num_hidden_layers + 1
    layers = resolve_layers(cfg, n_hidden)
    dim = model.config.hidden_size
    out_dtype = np.float16 if cfg.dtype == "float16" else np.float32
    last = np.zeros((n, len(layers), dim), out_dtype)
    mean = np.zeros((n, len(layers), dim), out_dtype) if cfg.mean_pool else None
    answer = np.zeros((n, len(layers), dim), out_dtype) if cfg.answer_pool or others else None
    T = cfg.tail_tokens
    tail = np.zeros((n, T, dim), out_dtype) if T else None
    tail_mask = np.zeros((n, T), bool) if T else None
    ll = np.full(n, np.nan, np.float32)
    ll_mean = np.full(n, np.nan, np.float32)
    ll_paths = np.full(n, np.nan, np.float32)
    nxt = np.zeros((n, len(NEXT_TOKEN)), np.float32) if cfg.next_token else None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for idx in length_batches([len(s) for s in seqs], cfg.batch_size, cfg.batch_tokens):
        ids, mask = pad_right([seqs[i] for i in idx], pad)
        ids, mask = ids.to(device), mask.to(device)
        with_alts = any(alts[i] for i in idx)
        pl = torch.tensor([plens[i] for i in idx], device=device)
        lens = torch.tensor([len(seqs[i]) for i in idx], device=device)
        rows = tuple(int(i) for i in idx)
        use_prefix = prefix is not None and tap and not with_alts  # a replay has no cache for the alternatives
        kept = prefix.replayable(rows, ids) if use_prefix else None
        record = use_prefix and kept is None and prefix.mode == "record"
        pooler = Pooler(layers, pl, cfg.mean_pool, cfg.tail_layer % n_hidden if T else None, T,
                         final_layer=n_hidden - 1 if cfg.next_token else None, keep=prefix.depth if record else None,
                         answer=answer_span(pl, lens, ids.shape[1]) if answer is not None else None)
        if kept is not None:
            pooler.inject(kept.pooled)
            out = _replay(base, kept.state.to(device), mask, prefix.depth, layers, pooler, full=cfg.answer_loglik)
        else:
            out = _forward(base, ids, mask, layers, pooler, use_cache=with_alts, full=cfg.answer_loglik, tap=tap)
            if pooler.kept is not None:
                _keep(prefix, rows, ids, pooler, out, base, mask, layers, cfg.answer_loglik)
        if nxt is not None:
            nxt[idx] = next_token_stats(head, pooler.final_out).cpu().numpy()
        if layers:
            last[idx] = pooler.stacked(pooler.last_out)
            if mean is not None:
                mean[idx] = pooler.stacked(pooler.mean_out)
            if answer is not None:
                answer[idx] = pooler.stacked(pooler.answer_out)
        if T:
            tail[idx] = pooler.tail_out.cpu().numpy()
            tail_mask[idx] = (pl[:, None] - T + torch.arange(T, device=device)[None, :] >= 0).cpu().numpy()
        if cfg.answer_loglik:  # LM head on answer positions only, all rows at once
            rows = torch.arange(len(idx), device=device)
            pos = (torch.arange(ids.shape[1], device=device)[None, :] >= (pl - 1)[:, None]) & \
                  (torch.arange(ids.shape[1], device=device)[None, :] < (lens - 1)[:, None])
            r, t = pos.nonzero(as_tuple=True)
            if len(r):
                logp = torch.log_softmax(head(out.last_hidden_state[r, t]).float(), dim=-1)
                tok_ll = logp[torch.arange(len(r), device=device), ids[r, t + 1]]
                sums = torch.zeros(len(idx), device=device).index_add_(0, r, tok_ll)
                counts = (lens - pl).clamp(min=1).float()
                has = (lens > pl).cpu().numpy()
                ll[idx[has]] = sums.cpu().numpy()[has]
                ll_mean[idx[has]] = (sums / counts).cpu().numpy()[has]
                if with_alts:  # log-sum-exp over the canonical path and every alternative
                    other = alternatives_loglik(base, head, output_cache(out), out.last_hidden_state[rows, pl - 1],
                                                ids.shape[1], pl, [alts[i] for i in idx], pad)
                    sums = torch.logsumexp(torch.cat([sums[:, None], other], dim=1), dim=1)
                ll_paths[idx[has]] = sums.cpu().numpy()[has]
    if prefix is not None:
        prefix.done()
    def rows(a):  # the questions' own rows (the other choices' rows follow them)
        return None if a is None else a[:n_questions]

    arrays = {"hidden_last": rows(last), "hidden_mean": rows(mean),
              "hidden_answer": rows(answer) if cfg.answer_pool else None,
              "hidden_others": others_mean(answer, n_questions, owner) if others else None,
              "tail": rows(tail), "tail_mask": rows(tail_mask),
              "answer_loglik": rows(ll) if cfg.answer_loglik else None,
              "answer_loglik_mean": rows(ll_mean) if cfg.answer_loglik else None,
              "answer_loglik_paths": rows(ll_paths) if cfg.answer_loglik and cfg.alternatives else None,
              "next_token": rows(nxt)}
    return arrays, time.perf_counter() - t0


def _keep(prefix: TaskPrefix, rows: tuple, ids, pooler: Pooler, out, base, mask, layers, full: bool) -> None:
    """Keep a recorded batch's state; the process's first one is replayed at once and compared with its pass."""
    if needs_check(prefix):
        same = _same_replay(base, pooler.kept, mask, prefix.depth, layers, pooler, out, full)
        if not checked(prefix, same, type(base).__name__):
            return
    prefix.keep(rows, ids, pooler.kept, pooler.shallow(prefix.depth))


@torch.inference_mode()
def bare_forward(model, tokenizer, task: Task, batch_size: int, batch_tokens: int | None = None) -> float:
    """The floor a probe cannot beat: the transformer over the same prompts, same batching, nothing kept (no
    KV cache either)."""
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    seqs, _ = encode(tokenizer, task, with_answer=False)
    base = base_model(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for idx in length_batches([len(s) for s in seqs], batch_size, batch_tokens):
        ids, mask = pad_right([seqs[i] for i in idx], pad)
        base(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False)
    return time.perf_counter() - t0
