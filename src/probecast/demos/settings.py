"""A demo workspace remembers the settings it was made with (DIR/demo.json; before it, its summary.json).

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


def recorded_settings(summary_demo: dict, skills: list[str] | None = None) -> dict:
    """What a demo's summary.json `demo` block says of the settings it was made with, in the settings' own keys
    (`skills`: the real demo's, whose question count is --questions): the evidence a workspace made before
    demo.json has (each demo writes its block at the end)."""
    out = {"demo": "smollm2" if "finetune" in summary_demo else "embedded"}
    out.update({k: summary_demo[k] for k in ("model", "quick", "size", "seed") if k in summary_demo})
    questions = summary_demo.get("questions_per_task")
    if isinstance(questions, int):  # the embedded demo: one count for every task
        out["questions_per_task"] = questions
    elif isinstance(questions, dict) and any(t in questions for t in skills or []):  # the real one: per task
        out["skill_questions"] = next(questions[t] for t in skills if t in questions)
    if isinstance(summary_demo.get("finetune"), dict):
        out["finetune"] = _finetune_settings(summary_demo["finetune"])
    return out


def _finetune_settings(ft: dict) -> dict:
    """The fine-tuning settings a demo's options set, from a stored FinetuneConfig (lora_rank absent: made before
    --lora existed, so without LoRA)."""
    return {"lora_rank": ft.get("lora_rank"), **{k: ft[k] for k in ("steps", "lr", "train_layers") if k in ft}}


def _only(asked: dict, was: dict) -> dict:
    """`asked` restricted to the keys `was` has, nested configs too: what an older record cannot say is not compared."""
    return {k: _only(asked[k], v) if isinstance(v, dict) and isinstance(asked.get(k), dict) else asked.get(k)
            for k, v in was.items()}


def check_settings(out: Path, demo: str, cfg) -> None:
    """Record `cfg` in out/demo.json on the first call; on a later one, refuse settings that differ. A workspace
    made before demo.json existed is compared with what its summary.json records first."""
    path = Path(out) / SETTINGS_FILE
    asked = settings_of(demo, cfg)
    if not path.exists():
        _check_older(Path(out), demo, asked)
        write_json_atomic(path, asked)
        return
    stored = read_json(path, dict, hint=f"delete it only if {Path(out)} holds no demo, else give another --out")
    # a setting newer than the file (added to the config since) is taken to have been its default then
    was = {"demo": demo, **filled(type(cfg)(), stored)}
    _refuse(path, Path(out), differences(was, asked, OPTIONS))


def run_settings(run_config: dict) -> dict:
    """What a finished training run's run.json `config` says of the demo settings: the real demo's fine-tuning
    (its `train_layers`) or the embedded demo's toy run (its `size`), and the seed both take from --seed."""
    if "train_layers" in run_config:
        return {"demo": "smollm2", "seed": run_config.get("seed", 0), "finetune": _finetune_settings(run_config)}
    return {"demo": "embedded", **{k: run_config[k] for k in ("size", "seed") if k in run_config}}


def _check_older(out: Path, demo: str, asked: dict) -> None:
    """A folder without demo.json: compare what its summary.json's demo block records or, a demo stopped before its
    summary, what its finished training run (run/run.json) records."""
    source, run = out / "summary.json", out / "run" / "run.json"
    hint = f"delete {out} or give another --out"
    if source.exists():
        block = read_json(source, dict, hint=hint).get("demo") or {}
        was = recorded_settings(block, asked.get("skills")) if block else {}  # no block: not a demo's summary
    elif run.exists():
        source, was = run, run_settings(read_json(run, dict, hint=hint).get("config") or {})
    else:
        return
    if was.get("demo", demo) != demo:  # another demo's folder: its other settings are beside the point
        was = {"demo": was["demo"]}
    _refuse(source, out, differences(was, _only(asked, was), OPTIONS))


def _refuse(file: Path, out: Path, said: list[str]) -> None:
    if said:
        raise ProbecastError(f"{file}: {out} holds a demo made with other settings: {', '.join(said)}; give "
                             f"another --out, or the same options to resume it")
