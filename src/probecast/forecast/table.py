"""The long table every forecaster reads: one row per run x step x metric.

    run, step, tokens, flops, params, metric, value

`metric` names say what was measured and on what: `acc/<task>` (a score on the 0-1 scale), `bpb/<task>`
(bits per byte of the correct answer), `loss/<set>` (validation cross-entropy, nats per token). `tokens`,
`flops` and `params` describe the checkpoint (NaN when unknown; a method that needs one says so).
Adapters (`probecast.forecast.adapters`) turn public formats into this table; `load_runs` picks the adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast import adapters
from probecast.forecast.schema import LONG_COLUMNS, validate_long_table  # noqa: F401  (part of the table API)


def load_runs(paths: Iterable[str | Path], params: dict[str, float] | None = None, *,
              shots: str = "zero", tokens_per_step: float | None = None) -> pd.DataFrame:
    """Read files/folders of any supported format into one validated long table.

    `params` maps a run name (or a run-name prefix like "190M", matched up to a "-") to its parameter count,
    overriding what the source says. Pythia folders load zero-shot results unless `shots` is "five" or "all"
    (five-shot runs are named `<model>-5shot`). `tokens_per_step` fills tokens for lm-eval sweeps that only
    know the step.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ProbecastError("--runs: give at least one file or folder")
    frames = []
    for path in paths:
        if not path.exists():
            raise ProbecastError(f"{path}: no such file or folder")
        frames.extend(adapters.read_any(path, shots=shots, tokens_per_step=tokens_per_step))
    frames = [f for f in frames if not f.empty]
    if not frames:
        raise ProbecastError(f"{', '.join(map(str, paths))}: no supported results found "
                             "(OLMo-ladder CSV, Pythia/lm-eval JSON, long-table CSV/Parquet, or a workspace)")
    df = pd.concat(frames, ignore_index=True)
    if params:
        df = apply_params(df, params)
    return validate_long_table(df, source=", ".join(map(str, paths)))


def apply_params(df: pd.DataFrame, params: dict[str, float]) -> pd.DataFrame:
    """Set `params` per run from a mapping keyed by run name or by run-name prefix (longest match wins)."""
    df = df.copy()
    keys = sorted(params, key=len, reverse=True)
    for run in df["run"].unique():
        for key in keys:
            if run == key or run.startswith(key + "-") or run.startswith(key + "_"):
                df.loc[df["run"] == run, "params"] = float(params[key])
                break
    return df


def parse_params(items: Iterable[str]) -> dict[str, float]:
    """Parse CLI `NAME=COUNT` items (COUNT like 1.2e9, 190M, 1.3B) into a mapping."""
    out: dict[str, float] = {}
    for item in items:
        if "=" not in item:
            raise ProbecastError(f"--params {item!r}: expected NAME=COUNT, e.g. 190M=190354176")
        name, _, value = item.partition("=")
        out[name.strip()] = parse_count(value, f"--params {item!r}")
    return out


def parse_count(text: str, where: str) -> float:
    units = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
    text = text.strip()
    scale = units.get(text[-1:].lower(), 1.0) if text else 1.0
    number = text[:-1] if scale != 1.0 else text
    try:
        value = float(number) * scale
    except ValueError:
        raise ProbecastError(f"{where}: {text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise ProbecastError(f"{where}: must be a finite number > 0 (e.g. 1e21 or 1.3B), got {text!r}")
    return value


# ---- views used by the forecasters -------------------------------------------------------------------------
def metric_names(df: pd.DataFrame, prefix: str) -> list[str]:
    """Metric names under `prefix/` (e.g. prefix "loss" -> ["loss/c4_en", ...])."""
    return sorted(m for m in df["metric"].unique() if m.startswith(prefix + "/"))


def resolve_metric(df: pd.DataFrame, task: str, kind: str = "acc") -> str:
    """`hellaswag` -> `acc/hellaswag`; a full name is checked; unknown names list the choices."""
    name = task if "/" in task else f"{kind}/{task}"
    if name not in set(df["metric"]):
        have = ", ".join(m.split("/", 1)[1] for m in metric_names(df, kind)[:30]) or "none"
        raise ProbecastError(f"--task {task}: no metric {name!r} in the table; {kind}/ tasks present: {have}")
    return name


def wide(df: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per run x step with run/step/tokens/flops/params and one column per metric (rows with any NaN dropped)."""
    sub = df[df["metric"].isin(metrics)]
    keys = ["run", "step"]
    meta = sub.groupby(keys, as_index=False)[["tokens", "flops", "params"]].first()
    values = sub.pivot_table(index=keys, columns="metric", values="value", aggfunc="first").reset_index()
    out = meta.merge(values, on=keys)
    missing = [m for m in metrics if m not in out.columns]
    if missing:
        have = sorted(df["metric"].unique())
        raise ProbecastError(f"table: metric(s) {', '.join(missing)} not present (metrics present: "
                             f"{', '.join(have[:20])}{', ...' if len(have) > 20 else ''}); check --task, "
                             f"--loss-metric or --domain")
    return out.dropna(subset=metrics).sort_values(keys).reset_index(drop=True)


def final_rows(w: pd.DataFrame) -> pd.DataFrame:
    """The last checkpoint of each run (the largest step)."""
    return w.loc[w.groupby("run")["step"].idxmax()].reset_index(drop=True)


def compute_of(w: pd.DataFrame) -> np.ndarray:
    """Training compute per row: the flops column, or 6*N*D where flops is unknown."""
    flops = w["flops"].to_numpy(float)
    fallback = 6.0 * w["params"].to_numpy(float) * w["tokens"].to_numpy(float)
    out = np.where(np.isfinite(flops), flops, fallback)
    if not np.all(np.isfinite(out)):
        bad = w.loc[~np.isfinite(out), "run"].iloc[0]
        raise ProbecastError(f"run {bad!r}: compute unknown (no flops, and params or tokens missing); "
                             "give --params NAME=COUNT or a table with flops")
    return out


# Random-guess accuracy of the multiple-choice tasks in the public runs (generative tasks: 0). Used to find
# where a task "emerges" (FLP stage 2 keeps checkpoints above chance + 5 points) and to floor sigmoids.
CHANCE = {"hellaswag": 0.25, "arc_easy": 0.25, "arc_challenge": 0.25, "openbookqa": 0.25, "sciq": 0.25,
          "mmlu": 0.25, "logiqa": 0.25, "hendrycksTest": 0.25, "csqa": 0.2, "socialiqa": 1 / 3, "piqa": 0.5,
          "winogrande": 0.5, "boolq": 0.5, "wsc": 0.5, "copa": 0.5, "lambada": 0.0, "gsm8k": 0.0}


def chance_level(metric: str) -> float:
    """Chance accuracy for `acc/<task>` by longest known task-name prefix; 0 when unknown."""
    task = metric.split("/")[-1]
    keys = [k for k in CHANCE if task.startswith(k)]
    return CHANCE[max(keys, key=len)] if keys else 0.0
