"""Checkpoints whose first blocks are identical share those blocks' hidden states: compute them once.

Fine-tuning only the top K blocks (the real demo trains 8 of SmolLM2's 30), freezing the bottom of the network, or
comparing a run with its base leaves the embeddings and the first blocks bit-identical across checkpoints, and so
is everything they compute. Extracting every checkpoint from scratch spends most of its time recomputing them.
This module keeps, in the process, the hidden state at the deepest shared layer of one *reference* checkpoint for
every batch of every task (full [rows, tokens, dim] tensors, as the pass produced them, plus what was pooled from
the shared layers), and later checkpoints run only the blocks above it.

- Which blocks are shared is read from the weights, never assumed: `block_hashes` hashes the embedding (with the
  configuration and any other tensor outside the blocks, e.g. rotary buffers) and each block's parameters and
  buffers, stopping at the first block known to differ from the checkpoints compared with; the shared depth of
  two checkpoints is the hidden_states index up to which every module is identical (0 = the embeddings; at most
  the output of the second-to-last block, since the last index is the final norm's output).
- The first checkpoint that shares blocks with the one extracted before it becomes the reference: its pass is
  the normal one, and the state at the shared depth is kept (up to `max_bytes`). Every later checkpoint that
  shares at least that depth with the reference replays from it (`forward_from`): the blocks above the depth
  run on the kept state with the same batches, masks and positions, so the features are those of the full pass
  (bit-identical on the Llama family; `tests/features/test_shared_prefix.py`).
- The replay feeds the kept state as `inputs_embeds` to the decoder with its block list cut at the depth. A
  decoder that transforms `inputs_embeds` before its first block (Gemma scales them) would not reproduce the
  full pass, so the first replay is checked against the reference's own full pass of that batch, and on a
  mismatch reuse is switched off for the process.
- Batches that need the key/value cache of every layer (answer alternatives) are not kept or replayed; nor is
  anything extracted through `output_hidden_states` (models without embed/layers/norm parts).

One process holds one reference (`process_states`): units run checkpoint by checkpoint, so a local run records
once and replays every later checkpoint; each Ray worker keeps its own. `extract`, `label` and `watch` clear it
when they finish (`PrefixStates.clear`: the kept states, the reference, and the check), and every new reference
checks its own first replay, so a later run in the same Python process (another model family) is never vouched
for by an earlier one. A checkpoint's hashes are computed once
per loaded model object (every parameter of the shared blocks read once: 0.7 s for all of SmolLM2 on this CPU),
so this is for models loaded from checkpoints, not for a live model trained in place between calls (the
training callbacks).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field
from typing import Sequence

import torch

from probecast.features.layer_tap import base_model, decoder_parts, run_tapped, tap_layers

DEFAULT_MAX_BYTES = 4 * 2 ** 30  # kept states per process; a task that would exceed it is not kept


def block_hashes(base, like: Sequence[tuple] = ()) -> tuple[str, ...] | None:
    """Hashes of what computes each hidden_states index below the final norm: [0] the embeddings together with
    everything else outside the blocks and the norm that shapes the pass (e.g. the rotary embedding's buffers)
    and the model's configuration, [i] decoder block i (parameters and buffers, names included). None when the
    model has no embed/layers/norm parts.

    With `like` (other checkpoints' hashes, possibly partial), hashing stops after the first index at which every
    one of them is known and differs: nothing deeper can be shared with them, so a fully trained run pays for
    its embeddings' hash only, not for every parameter of every checkpoint."""
    parts = decoder_parts(base)
    if parts is None:
        return None
    embed, blocks, norm = parts
    inside = {id(t) for m in (*blocks, norm) for t in [*m.parameters(), *m.buffers()]}
    config = getattr(base, "config", None)
    settings = config.to_dict() if config is not None else {}
    first = repr(sorted((k, repr(v)) for k, v in settings.items()
                        if not k.startswith("_") and k != "transformers_version")).encode()
    units = [(first, [(n, t) for n, t in [*base.named_parameters(), *base.named_buffers()] if id(t) not in inside])]
    units += [(b"", [*block.named_parameters(), *block.named_buffers()]) for block in blocks]
    out = []
    for i, (extra, tensors) in enumerate(units):
        h = hashlib.blake2b(extra, digest_size=16)
        for name, t in tensors:
            h.update(name.encode())
            h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
            h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
        out.append(h.hexdigest())
        if like and all(len(o) > i and o[i] != out[i] for o in like):
            break
    return tuple(out)


def shared_depth(a: tuple[str, ...] | None, b: tuple[str, ...] | None, n_blocks: int | None = None) -> int:
    """The deepest hidden_states index two checkpoints share (−1: not even the embeddings), capped at the
    second-to-last block's output so that at least one block and the final norm always run. Hashes may be
    partial (`block_hashes(like=...)`): what one of them does not know is not shared. `n_blocks`: the model's
    number of blocks (default: from the longer, complete, tuple)."""
    if a is None or b is None:
        return -1
    d = 0
    while d < min(len(a), len(b)) and a[d] == b[d]:
        d += 1
    n = max(len(a), len(b)) - 1 if n_blocks is None else n_blocks
    return min(d - 1, n - 1)


def forward_from(base, state: torch.Tensor, mask: torch.Tensor, depth: int, wanted: set[int], on_state,
                 stop_after: int | None):
    """The decoder's pass from hidden_states[`depth`] = `state` upwards: the blocks above `depth` and the final
    norm, each wanted index (> depth, full-model numbering) handed to `on_state`; stops after `stop_after` (full-
    model numbering) when set. Returns the model output, or None when stopped early."""
    layers = base.layers
    base.layers = torch.nn.ModuleList(list(layers)[depth:])
    try:
        shifted = lambda j, h: on_state(j + depth, h)  # noqa: E731  (short-model index → full-model index)
        with tap_layers(base, {i - depth for i in wanted if i > depth}, shifted,
                        stop_after=None if stop_after is None else stop_after - depth):
            return run_tapped(base, None if stop_after is None else stop_after - depth,
                              inputs_embeds=state, attention_mask=mask, use_cache=False)
    finally:
        base.layers = layers


@dataclass
class _Batch:
    ids: torch.Tensor  # the padded token ids the state was computed from (a replay must match them)
    state: torch.Tensor  # hidden_states[depth], [rows, tokens, dim], on the CPU
    pooled: dict  # what the pass pooled from indices <= depth: {"last": {i: t}, "mean": {i: t}, "tail": t | None}


@dataclass
class TaskPrefix:
    """The plan for one (checkpoint, task) extraction: `record` the reference's states, or `replay` from them."""
    mode: str  # "record" or "replay"
    depth: int
    batches: dict = field(default_factory=dict)  # batch key (row indices) -> _Batch
    owner: "PrefixStates | None" = None
    key: tuple = ()
    nbytes: int = 0

    def replayable(self, rows: tuple, ids: torch.Tensor) -> "_Batch | None":
        b = self.batches.get(rows) if self.mode == "replay" else None
        return b if b is not None and b.ids.shape == ids.shape and torch.equal(b.ids, ids.to("cpu")) else None

    def keep(self, rows: tuple, ids: torch.Tensor, state: torch.Tensor, pooled: dict) -> None:
        if self.mode != "record" or self.owner is None:
            return
        self.nbytes += state.numel() * state.element_size()
        if self.owner.used + self.nbytes > self.owner.max_bytes:
            self.mode = "off"  # this task is not kept; it will be extracted in full at later checkpoints
            self.batches.clear()
            return
        self.batches[rows] = _Batch(ids.to("cpu"), state.to("cpu"), pooled)  # host memory, not an accelerator's

    def done(self) -> None:
        """The extraction finished: a recorded task becomes replayable."""
        if self.mode == "record" and self.owner is not None and self.owner.reference is not None:
            self.owner.tasks[self.key] = self
            self.owner.used += self.nbytes
            self.mode = "replay"


def needs_check(plan: TaskPrefix) -> bool:
    """Is this the process's first kept batch, whose replay must be compared with its full pass?"""
    return plan.owner is not None and not plan.owner.checked


def checked(plan: TaskPrefix, same: bool | None, what: str) -> bool:
    """Record the first replay's comparison (`same`: None = nothing to compare yet); False, with reuse switched
    off for the process, when the replay differed from the full pass."""
    if same is False:
        plan.owner.disabled = f"{what}: a pass from a kept hidden state differs from the full pass"
        plan.mode = "off"
        return False
    plan.owner.checked = same is True
    return True


def last_hidden(base, ids: torch.Tensor, mask: torch.Tensor, plan: TaskPrefix | None, rows: tuple) -> torch.Tensor:
    """`base(input_ids=ids, attention_mask=mask).last_hidden_state`, started from the plan's kept state when it
    has this batch, else computed in full (keeping the state at the plan's depth when it records)."""
    kept = plan.replayable(rows, ids) if plan is not None else None
    if kept is not None:
        return forward_from(base, kept.state.to(ids.device), mask, plan.depth, set(), _ignore, None).last_hidden_state
    if plan is None or plan.mode != "record":
        return base(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    got: dict = {}
    with tap_layers(base, {plan.depth}, lambda i, h: got.setdefault("state", h.detach().clone())):
        final = base(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    if needs_check(plan):
        again = forward_from(base, got["state"], mask, plan.depth, set(), _ignore, None).last_hidden_state
        if not checked(plan, torch.allclose(again.float(), final.float(), rtol=1e-4, atol=1e-5), type(base).__name__):
            return final
    plan.keep(rows, ids, got["state"], {"last": {}, "mean": {}, "tail": None})
    return final


def _ignore(index: int, state: torch.Tensor) -> None:
    return None


def outcome(before: str | None, plan: TaskPrefix | None) -> str | None:
    """How an extraction used the states, from its plan's mode before and after it: `kept` (this checkpoint's
    states were kept), `replayed` (it started from the reference's), or None (every block ran)."""
    return {("record", "replay"): "kept", ("replay", "replay"): "replayed"}.get((before, plan and plan.mode))


@dataclass
class PrefixStates:
    """This process's reference checkpoint (its block hashes and depth) and its kept states, per task."""
    max_bytes: int = DEFAULT_MAX_BYTES
    reference: tuple | None = None
    depth: int = -1
    tasks: dict = field(default_factory=dict)  # task key -> recorded TaskPrefix
    used: int = 0
    current: tuple | None = None  # hashes of the checkpoint being extracted
    previous: tuple | None = None  # ... and of the last different one
    disabled: str | None = None  # why reuse is off until `clear` (a replay did not match its full pass)
    checked: bool = False  # the current reference's first replay was compared with its full pass
    _hash_cache: tuple = (None, None)  # (weak reference to the decoder hashed last, its hashes)

    def hashes(self, base) -> tuple | None:
        """Once per loaded checkpoint, not per task (and only as deep as it can share with the reference or the
        checkpoint before it); a weak reference, so a freed model is not kept alive (nor mistaken for the next one
        loaded at its address)."""
        ref = self._hash_cache[0]
        if ref is None or ref() is not base:
            like = [x for x in (self.reference, self.current) if x is not None]
            self._hash_cache = (weakref.ref(base), block_hashes(base, like=like))
        return self._hash_cache[1]

    def plan(self, base, key: tuple) -> TaskPrefix | None:
        """What to do for `key` (task and settings) on the checkpoint whose decoder is `base`."""
        if self.disabled:
            return None
        h = self.hashes(base)
        if h is None:
            return None
        if h != self.current:
            self.previous, self.current = self.current, h
        n = len(decoder_parts(base)[1])
        if self.reference is not None and shared_depth(h, self.reference, n) >= self.depth:
            if key in self.tasks:
                return self.tasks[key]
            if h == self.reference:  # the reference checkpoint itself, another task
                return TaskPrefix("record", self.depth, owner=self, key=key)
            return None
        d = shared_depth(h, self.previous, n)
        if d < 1:
            return None
        self.reference, self.depth, self.tasks, self.used = h, d, {}, 0  # a new reference: this checkpoint
        self.checked = False  # maybe another model family: its first replay is compared with its full pass again
        return TaskPrefix("record", d, owner=self, key=key)

    def plan_extraction(self, model, task, cfg) -> TaskPrefix | None:
        """`plan` for extracting `task` with the settings `cfg` (`ExtractConfig`) from a loaded causal LM."""
        return self.plan(base_model(model), (task.name, repr(cfg)))

    def clear(self) -> None:
        """Forget everything: the kept states (their memory), the reference, and whether reuse was checked or
        switched off, so the next run in this process (another workspace, another model family) starts afresh."""
        self.reference, self.depth, self.tasks, self.used = None, -1, {}, 0
        self.current = self.previous = None
        self.disabled, self.checked = None, False
        self._hash_cache = (None, None)


_PROCESS = PrefixStates()


def process_states() -> PrefixStates:
    return _PROCESS
