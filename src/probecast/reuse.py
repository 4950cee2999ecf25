"""A finished run is reused only when it was made with the settings asked for now.

`probecast finetune`, `probecast train-toy` and the demos reuse a finished run they find in their output folder (it
can take minutes to hours to make). Reused with other settings, it would stand silently for a run it is not: e.g.
`finetune --lora 16` on a folder holding a top-8 run, or `train-toy --size s` on a size-m run. So the stored
settings are compared with the asked ones and a difference stops the command, naming the options.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path

from probecast.errors import ProbecastError
from probecast.stored import read_json


def as_json(cfg) -> dict:
    """A config dataclass in its JSON form (tuples as lists), as run.json / demo.json store it."""
    return json.loads(json.dumps(asdict(cfg)))


def filled(default_cfg, stored: dict) -> dict:
    """`stored` (a config's JSON form written by an earlier version) with every setting it lacks taken from
    `default_cfg`, inside nested configs too: a setting added to the config since is taken to have had its default."""
    out = {**as_json(default_cfg), **stored}
    for f in fields(default_cfg):
        sub = getattr(default_cfg, f.name)
        if is_dataclass(sub) and isinstance(stored.get(f.name), dict):
            out[f.name] = filled(sub, stored[f.name])
    return out


def differences(was: dict, asked: dict, options: dict[str, str], prefix: str = "") -> list[str]:
    """`--option was (now asked)` for every key whose value differs (a key missing on one side differs too); nested
    configs are compared key by key, as `outer.inner` (which `options` may name too)."""
    out = []
    for k in sorted(set(was) | set(asked)):
        a, b = was.get(k), asked.get(k)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, options, f"{prefix}{k}.")
        else:
            out.append(f"{options.get(prefix + k, prefix + k)} {a!r} (now {b!r})")
    return out


def finished_run(out: Path, cfg, options: dict[str, str], extra: dict | None = None) -> list[dict] | None:
    """The checkpoint records of the finished run in `out` (None: no finished run there). A run made with other
    settings than `cfg` (+ `extra`, top-level keys of run.json such as the starting checkpoint) is refused. A setting
    newer than the run (added to the config since) is taken to have had its default."""
    run_file = Path(out) / "run.json"
    if not run_file.exists():
        return None
    stored = read_json(run_file, dict, hint=f"delete {Path(out)} to train it again")
    if not stored.get("finished"):
        return None
    was = {**filled(type(cfg)(), stored.get("config", {})), **{k: stored.get(k) for k in extra or {}}}
    said = differences(was, {**as_json(cfg), **(extra or {})}, options)
    if said:
        raise ProbecastError(f"{run_file}: {Path(out)} holds a finished run made with other settings: "
                             f"{', '.join(said)}; give another --out, or the same settings to reuse it")
    return stored["checkpoints"]
