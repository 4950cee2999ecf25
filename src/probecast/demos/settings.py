"""A demo workspace remembers the settings it was made with (DIR/demo.json).

`probecast demo` resumes a workspace it finds (a finished training run, labels and features are kept), so a second
call with other settings would mix two demos: e.g. another `--questions` writes other test questions while the
kept fine-tuning run was trained on examples drawn to exclude the first ones only. The first call records its
settings; a later call with different ones stops before any work, naming the options that differ.
"""

from __future__ import annotations

from pathlib import Path

from probecast.errors import ProbecastError
from probecast.io import write_json_atomic
from probecast.reuse import as_json, differences, filled
from probecast.stored import read_json

SETTINGS_FILE = "demo.json"
# the settings a user gives on the command line, and the option that gives each
OPTIONS = {"model": "--model", "quick": "--quick", "size": "--size", "questions_per_task": "--questions",
           "skill_questions": "--questions", "seed": "--seed", "finetune.lora_rank": "--lora", "finetune.lr": "--lr"}


def settings_of(demo: str, cfg) -> dict:
    """The JSON form of a demo's config (tuples as lists), tagged with the demo's kind."""
    return {"demo": demo, **as_json(cfg)}


def check_settings(out: Path, demo: str, cfg) -> None:
    """Record `cfg` in out/demo.json on the first call; on a later one, refuse settings that differ."""
    path = Path(out) / SETTINGS_FILE
    asked = settings_of(demo, cfg)
    if not path.exists():
        write_json_atomic(path, asked)
        return
    stored = read_json(path, dict, hint=f"delete it only if {Path(out)} holds no demo, else give another --out")
    # a setting newer than the file (added to the config since) is taken to have been its default then
    was = {"demo": demo, **filled(type(cfg)(), stored)}
    said = ", ".join(differences(was, asked, OPTIONS))
    if said:
        raise ProbecastError(f"{path}: {Path(out)} holds a demo made with other settings: {said}; give another --out, "
                             f"or the same options to resume it")
