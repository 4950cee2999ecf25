"""The command line starts without loading torch or transformers: `probecast --help` and a bad option answer in
well under a second; the commands that need a model import it when they run."""

import subprocess
import sys


def test_the_cli_and_every_command_module_load_without_torch_or_transformers():
    code = ("import importlib, sys\n"
            "import probecast.cli as c\n"
            "[importlib.import_module(m) for m in c.COMMAND_MODULES]\n"
            "print(sorted(m for m in ('torch', 'transformers', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
