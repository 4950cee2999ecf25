"""Writing a Hugging Face checkpoint folder: model and tokenizer into a temporary folder that the caller renames.

A full disk or an unwritable folder stops the command with one line naming the folder (the CLI prints it, exit 2),
not a traceback from safetensors, and the partial folder is removed so it does not hold the space it took.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from probecast.errors import ProbecastError


def write_hf_folder(model, tokenizer, tmp: Path, final: Path) -> None:
    """save_pretrained `model` and `tokenizer` into a fresh `tmp` (meant to become `final`)."""
    from safetensors import SafetensorError

    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    except (OSError, SafetensorError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ProbecastError(f"{final}: could not write the checkpoint ({exc}); free disk space there or give "
                             f"another output folder, then run the command again (finished steps are kept)") from exc
