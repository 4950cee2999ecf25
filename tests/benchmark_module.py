"""Import a script of `benchmarks/` (not a package) as a module, for the tests that call its functions."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """`benchmarks/<name>.py` as a module (run once; its `main` guarded by `if __name__ == "__main__"`)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
