"""Find the checkpoints of a training run and what is known about each (step, tokens, FLOPs).

Accepted: a run folder whose sub-folders are named `step-N`, `stepN`, `step_N`, HF Trainer `checkpoint-N`,
`global_stepN`, `iter_N` (Megatron's `iter_0001000` too); a single checkpoint folder; a GGUF file; or a Hugging
Face model id with `@revision` (e.g. `EleutherAI/pythia-160m@step3000`, loaded from the hub or its cache).
Tokens/FLOPs come from a `probecast_checkpoint.json` sidecar, else HF `trainer_state.json`, else stay unknown
(FLOPs then derive as 6·N·D when params and tokens are known). A damaged sidecar is an error (probecast wrote it:
something went wrong); a damaged `trainer_state.json` is a `note:` line (another tool's file; the step then
comes from the folder's name).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from probecast.errors import ProbecastError

SIDECAR = "probecast_checkpoint.json"
_STEP_PATTERNS = [re.compile(p) for p in (r"^step[-_]?(\d+)$", r"^checkpoint-(\d+)$", r"^global_step(\d+)$",
                                          r"^iter_?(\d+)$", r"^ckpt[-_]?(\d+)$")]
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class Checkpoint:
    id: str
    path: str  # folder, GGUF file, or hub id
    step: int | None = None
    tokens: float | None = None
    flops: float | None = None
    params: float | None = None
    train_loss: float | None = None  # training loss at this step, when the run logged it
    revision: str | None = None  # hub revision
    gguf_file: str | None = None  # file name inside `path` for GGUF checkpoints

    def to_record(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @staticmethod
    def from_record(r: dict) -> "Checkpoint":
        """A checkpoints.json entry (one without a path gets "": `resolve.loadable` refuses it before a load)."""
        return Checkpoint(**{"path": "", **{k: r.get(k) for k in Checkpoint.__dataclass_fields__ if k in r}})


def blank_path(path) -> bool:
    """A checkpoint record's path that names nothing (missing, empty or blanks): loading it would load whatever
    the current folder holds, so such a record is refused before a load (`resolve.loadable`) and never written."""
    return not str(path or "").strip()


def step_from_name(name: str) -> int | None:
    for pat in _STEP_PATTERNS:
        m = pat.match(name)
        if m:
            return int(m.group(1))
    return None


def _is_hf_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def _read_metadata(path: Path) -> dict:
    meta: dict = {}
    state = path / "trainer_state.json"
    if state.is_file():
        try:
            s = json.loads(state.read_text())
            meta["step"] = s.get("global_step")
            if s.get("total_flos"):
                meta["flops"] = float(s["total_flos"])
            if s.get("num_input_tokens_seen"):
                meta["tokens"] = float(s["num_input_tokens_seen"])
        except (json.JSONDecodeError, OSError, AttributeError, TypeError, ValueError) as exc:
            from probecast.ui import note

            note(f"{state}: unreadable ({type(exc).__name__}); step from the folder name, no tokens or FLOPs from it")
            meta = {}
    sidecar = path / SIDECAR
    if sidecar.is_file():
        try:
            meta.update(json.loads(sidecar.read_text()))
        except json.JSONDecodeError as exc:
            raise ProbecastError(f"{sidecar}: malformed JSON ({exc.msg}); fix or delete the sidecar") from None
    return meta


def checkpoint_from_folder(path: Path, step: int | None = None) -> Checkpoint:
    if not _is_hf_folder(path):
        raise ProbecastError(f"{path}: not a checkpoint folder (no config.json); point to a Hugging Face "
                             f"checkpoint folder or a run folder with step-N / checkpoint-N sub-folders")
    meta = _read_metadata(path)
    step = meta.get("step", step if step is not None else step_from_name(path.name))
    tokens, params = meta.get("tokens"), meta.get("params")
    flops = meta.get("flops")
    if flops is None and tokens and params:
        flops = 6.0 * float(params) * float(tokens)
    loss = meta.get("train_loss")
    return Checkpoint(id=path.name, path=str(path), step=step, tokens=tokens, flops=flops, params=params,
                      train_loss=float(loss) if loss is not None else None)


def discover_checkpoints(source: str | Path) -> list[Checkpoint]:
    """All checkpoints of `source`, sorted by step (see module docstring for what is accepted)."""
    text = str(source)
    path = Path(text)
    if path.is_file() and path.suffix == ".gguf":
        return [Checkpoint(id=path.stem, path=str(path.parent), gguf_file=path.name, step=step_from_name(path.stem))]
    if path.is_dir():
        if _is_hf_folder(path):
            return [checkpoint_from_folder(path)]
        found = []
        for child in sorted(path.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                step = step_from_name(child.name)
                if step is not None and _is_hf_folder(child):
                    found.append(checkpoint_from_folder(child, step))
        ggufs = sorted(path.glob("*.gguf"))
        found += [Checkpoint(id=g.stem, path=str(path), gguf_file=g.name, step=step_from_name(g.stem)) for g in ggufs]
        if not found:
            raise ProbecastError(f"{path}: no checkpoints found (expected sub-folders like step-100, checkpoint-100, "
                                 f"global_step100 or iter_100 with a config.json, or a checkpoint folder itself)")
        return sorted(found, key=lambda c: (c.step is None, c.step or 0, c.id))
    if path.exists():
        raise ProbecastError(f"{path}: not a folder or .gguf file")
    if re.match(r"^[\w.-]+/[\w.-]+(@[\w./-]+)?$", text) and not text.startswith((".", "/")):
        repo, _, revision = text.partition("@")
        return [Checkpoint(id=f"{repo.replace('/', '--')}{'@' + revision if revision else ''}", path=repo,
                           revision=revision or None, step=step_from_name(revision) if revision else None)]
    raise ProbecastError(f"{path}: no such checkpoint folder (and not a hub id like org/name@step1000)")
