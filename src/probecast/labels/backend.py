"""Inference backends behind one interface: batched sampling and teacher-forced log-likelihood.

`HFBackend` runs Hugging Face transformers (left-padded batches, `generate` with stop strings); `VLLMBackend`
(`vllm_backend.py`) implements the same methods on vLLM. Both return plain Python data so scoring never touches
the model. `backends.make_backend` is the one place that chooses between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from probecast.tasks.scorers import cut_at_stop


@dataclass(frozen=True)
class SamplingConfig:
    n: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 32
    min_new_tokens: int = 0  # EOS suppressed before this many (= max_new_tokens with stop=(): fixed-length work)
    stop: tuple[str, ...] = ("\n",)
    greedy: bool = False  # True: one deterministic completion, n ignored


class Backend(Protocol):
    def generate(self, prompts: Sequence[str], cfg: SamplingConfig) -> list[list[str]]:
        """For each prompt, its completions (n, or 1 when greedy), cut at the first stop string."""

    def loglik(self, contexts: Sequence[str], continuations: Sequence[str]) -> list[tuple[float, int]]:
        """For each pair, (sum of log p(continuation tokens | context), number of continuation tokens)."""

    def close(self) -> None:
        """Free what the backend loaded itself (a model, an engine); a no-op for a borrowed model."""


class HFBackend:
    def __init__(self, model, tokenizer, batch_size: int = 64, seed: int = 0, owns_model: bool = False,
                 shared_prefix: bool = False) -> None:
        self.model, self.tokenizer, self.batch_size, self.seed = model, tokenizer, batch_size, seed
        self.device = next(model.parameters()).device
        self.owns_model = owns_model  # loaded by `make_backend`: freed by `close()`
        self.shared_prefix = shared_prefix  # `loglik` replays blocks shared with an earlier checkpoint (never on
        # a live model trained in place: features/shared_prefix.py)

    def close(self) -> None:
        if self.owns_model and self.model is not None:
            from probecast.checkpoints.load import free_model

            model, self.model = self.model, None
            free_model(model)

    def _stop_token_ids(self, stop: Sequence[str]) -> list[int]:
        """Stop strings that are single tokens end generation through eos ids (cheap); others via stop_strings."""
        ids = []
        vocab = self.tokenizer.get_vocab()
        for s in stop:
            if s in vocab:
                ids.append(vocab[s])
        return ids

    def generate(self, prompts: Sequence[str], cfg: SamplingConfig) -> list[list[str]]:
        """n samples per prompt in batches of `batch_size` sequences (`hf_sampler.sample_compacting`: one prefill
        per prompt shared by its samples, finished rows leave the batch); `model.generate` for a model that
        cannot take that loop's cache."""
        import torch

        from probecast.labels.hf_sampler import sample_compacting

        tok = self.tokenizer
        eos = [i for i in [tok.eos_token_id] if i is not None] + self._stop_token_ids(cfg.stop)
        multi_token_stops = [s for s in cfg.stop if s not in tok.get_vocab()]
        n = 1 if cfg.greedy else cfg.n
        out: list[list[str]] = []
        per_batch = max(1, self.batch_size // n)
        torch.manual_seed(self.seed)
        for start in range(0, len(prompts), per_batch):
            chunk = list(prompts[start:start + per_batch])
            enc = tok(chunk, return_tensors="pt", padding=True).to(self.device)
            with torch.inference_mode():
                try:
                    new = sample_compacting(self.model, enc["input_ids"], enc["attention_mask"], n,
                                            max_new_tokens=cfg.max_new_tokens, min_new_tokens=cfg.min_new_tokens,
                                            eos_ids=eos, stop_strings=multi_token_stops, tokenizer=tok,
                                            greedy=cfg.greedy, temperature=cfg.temperature, top_p=cfg.top_p)
                except (TypeError, AttributeError, NotImplementedError):
                    new = self._generate(enc, n, cfg, eos, multi_token_stops)
            texts = tok.batch_decode(new, skip_special_tokens=True)
            for i in range(len(chunk)):
                out.append([cut_at_stop(t, cfg.stop) for t in texts[i * n:(i + 1) * n]])
        return out

    def _generate(self, enc, n: int, cfg: SamplingConfig, eos: list[int], multi_token_stops: list[str]):
        """`model.generate` (every row computed until the batch's last one stops, each sample prefilled on its
        own): the new tokens of each sample."""
        tok = self.tokenizer
        kwargs = dict(max_new_tokens=cfg.max_new_tokens, pad_token_id=tok.pad_token_id, eos_token_id=eos or None,
                      min_new_tokens=cfg.min_new_tokens or None, num_return_sequences=n)
        if cfg.greedy:
            kwargs.update(do_sample=False)
        else:
            kwargs.update(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0)
        if multi_token_stops:
            kwargs.update(stop_strings=multi_token_stops, tokenizer=tok)
        gen = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], **kwargs)
        return gen[:, enc["input_ids"].shape[1]:]

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Context with special tokens, continuation without: the lm-evaluation-harness convention."""
        ctx = self.tokenizer(context).input_ids
        cont = self.tokenizer(continuation, add_special_tokens=False).input_ids
        return ctx, cont

    def loglik(self, contexts: Sequence[str], continuations: Sequence[str]) -> list[tuple[float, int]]:
        """Teacher-forced, in length-sorted batches; the LM head runs only at the positions that predict a
        continuation token (not over every position × the vocabulary, which costs more than the transformer on
        short continuations)."""
        import hashlib

        import torch

        from probecast.features.extract import base_model, length_batches, pad_right
        from probecast.features.shared_prefix import last_hidden, process_states

        pairs = [self.encode_pair(c, x) for c, x in zip(contexts, continuations)]
        pad = self.tokenizer.pad_token_id or 0
        base, head = base_model(self.model), self.model.get_output_embeddings()
        key = ("loglik", self.batch_size, hashlib.blake2b(repr(pairs).encode(), digest_size=16).hexdigest())
        plan = process_states().plan(base, key) if self.shared_prefix else None
        results: list[tuple[float, int]] = [(0.0, 0)] * len(pairs)
        for idx in length_batches([len(c) + len(x) for c, x in pairs], self.batch_size):
            chunk = [pairs[i] for i in idx]
            ids, mask = pad_right([ctx + cont for ctx, cont in chunk], pad)  # right padding: positions 0..len-1
            rows = torch.cat([torch.full((len(cont),), i) for i, (_, cont) in enumerate(chunk)]).long()
            pos = torch.cat([torch.arange(len(ctx) - 1, len(ctx) + len(cont) - 1) for ctx, cont in chunk]).long()
            tgt = torch.tensor([t for _, cont in chunk for t in cont], dtype=torch.long)
            with torch.inference_mode():
                states = last_hidden(base, ids.to(self.device), mask.to(self.device), plan, tuple(map(int, idx)))
                logp = torch.log_softmax(head(states[rows.to(self.device), pos.to(self.device)]).float(), dim=-1)
                tok_ll = logp[torch.arange(len(tgt), device=self.device), tgt.to(self.device)].double().cpu()
            sums = torch.zeros(len(chunk), dtype=torch.float64).index_add_(0, rows, tok_ll)
            for j, i in enumerate(idx):
                results[i] = (float(sums[j]), len(chunk[j][1]))
        if plan is not None:
            plan.done()
        return results
