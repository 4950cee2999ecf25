"""A result that cannot be written (full disk, unwritable folder) stops with one line naming it, and leaves no
partial checkpoint folder or temporary file (probecast/hf_folder.py, probecast/io.py)."""

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


def test_a_result_file_that_cannot_be_written_names_itself_and_leaves_no_temporary(tmp_path):
    """A write through a file object (np.save, parquet) on a full disk raises an OSError without a file name;
    atomic_path names the result it was for, so the CLI prints one line (cli.main) instead of a traceback."""
    from probecast.io import atomic_path

    target = tmp_path / "features" / "hidden.npy"
    with pytest.raises(OSError) as err:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"\0" * 16)
            raise OSError(errno.ENOSPC, "No space left on device")
    assert err.value.filename == str(target) and err.value.errno == errno.ENOSPC
    assert list(target.parent.iterdir()) == []


def test_the_cli_prints_such_an_error_as_one_line_with_exit_2(tmp_path, monkeypatch, capsys):
    import probecast.cli as cli
    from probecast import io

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.os, "replace", full_disk)  # the rename at the end of an atomic write fails
    monkeypatch.setattr(cli, "app", lambda **kw: io.write_json_atomic(tmp_path / "x.json", {}))
    with pytest.raises(SystemExit) as code:
        cli.main([])
    err = capsys.readouterr().err.strip()
    assert code.value.code == 2 and "\n" not in err and str(tmp_path / "x.json") in err and "No space left" in err
