"""Labelling backends, chosen in one place: `make_backend(name, checkpoint, ...)` → a `Backend`.

| name   | engine                                             | loads the HF model itself |
|--------|----------------------------------------------------|---------------------------|
| `hf`   | transformers `generate` / teacher-forced forward    | yes (or takes the caller's) |
| `vllm` | vLLM's offline `LLM` engine (`vllm_backend.py`)     | no: its own engine per checkpoint |

Every backend has `close()`; `BackendPerCheckpoint` keeps one backend alive while a loop stays on one checkpoint
and closes it when the loop moves on, so a vLLM engine starts once per checkpoint and is freed before the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from probecast.checkpoints.discover import Checkpoint
from probecast.errors import ProbecastError
from probecast.labels.backend import Backend, HFBackend

BACKENDS = ("hf", "vllm")


@dataclass(frozen=True)
class BackendConfig:
    name: str = "hf"
    batch_size: int = 64  # HF: rows per generate/forward call (vLLM schedules its own batches)
    seed: int = 0
    dtype: str = "float32"
    kv_cache_gib: float = 1.0  # vLLM on the CPU: KV-cache size (the CPU engine needs it explicit)
    shared_prefix: bool = False  # HF log-likelihoods replay blocks shared across checkpoints (features/shared_prefix.py)

    def __post_init__(self) -> None:
        check_backend(self.name)

    @property
    def needs_hf_model(self) -> bool:
        """Does the caller load the HF model for this backend? (vLLM loads the checkpoint its own way.)"""
        return self.name == "hf"


def check_backend(name: str, option: str = "--backend") -> str:
    if name not in BACKENDS:
        raise ProbecastError(f"{option} {name!r}: unknown labelling backend; choose one of {', '.join(BACKENDS)}")
    return name


def make_backend(name: str | BackendConfig, checkpoint: Checkpoint, model=None, tokenizer=None,
                 **options) -> Backend:
    """A backend for `checkpoint`. `hf` uses `model`/`tokenizer` when given (nothing to free on `close()`),
    else loads them (freed on `close()`); `vllm` starts an engine on the checkpoint folder."""
    cfg = name if isinstance(name, BackendConfig) else BackendConfig(name=name, **options)
    if cfg.name == "hf":
        owns = model is None
        if owns:
            from probecast.checkpoints.load import load_model

            model, tokenizer = load_model(checkpoint, dtype=cfg.dtype)
        return HFBackend(model, tokenizer, batch_size=cfg.batch_size, seed=cfg.seed, owns_model=owns,
                         shared_prefix=cfg.shared_prefix)
    from probecast.labels.vllm_backend import VLLMBackend

    return VLLMBackend(checkpoint, dtype=cfg.dtype, seed=cfg.seed, kv_cache_gib=cfg.kv_cache_gib)


class BackendPerCheckpoint:
    """One live backend at a time: `get(ckpt, ...)` reuses it for the same checkpoint, closes it on a new one."""

    def __init__(self, cfg: BackendConfig) -> None:
        self.cfg, self.key, self.backend = cfg, None, None

    def get(self, ckpt: Checkpoint, model=None, tokenizer=None) -> Backend:
        key = (ckpt.id, ckpt.path, id(model))
        if self.backend is None or key != self.key:
            self.close()
            self.backend, self.key = make_backend(self.cfg, ckpt, model, tokenizer), key
        return self.backend

    def close(self) -> None:
        backend, self.backend, self.key = self.backend, None, None
        if backend is not None:
            backend.close()

    def __enter__(self) -> "BackendPerCheckpoint":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
