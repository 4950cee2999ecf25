"""A checkpoint that cannot be written (full disk, unwritable folder) stops with one line naming it, and the
partial folder is removed (probecast/hf_folder.py)."""

import errno

import pytest
from safetensors import SafetensorError

from probecast.errors import ProbecastError
from probecast.toy.train import save_checkpoint


class _Tokenizer:
    def save_pretrained(self, folder):
        (folder / "tokenizer.json").write_text("{}")


class _FullDisk:
    def __init__(self, exc):
        self.exc = exc

    def save_pretrained(self, folder):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"\0" * 1024)  # what it wrote before the disk filled
        raise self.exc


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"),
                                 SafetensorError("Error while serializing: I/O error: No space left on device")])
def test_a_checkpoint_that_cannot_be_written_is_one_line_and_leaves_no_partial_folder(tmp_path, exc):
    (tmp_path / "step-0").mkdir()  # an earlier checkpoint of the run: kept
    with pytest.raises(ProbecastError) as err:
        save_checkpoint(_FullDisk(exc), _Tokenizer(), tmp_path, {"step": 5})
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "step-5") in msg and "No space left" in msg and "free disk space" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0"]
