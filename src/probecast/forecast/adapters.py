"""Adapters: public result formats -> the long table (`probecast.forecast.table.LONG_COLUMNS`).

Supported (detected from the path, see `read_any`):
- OLMo-ladder run CSVs (allenai/OLMo-ladder ladder-runs): one file per run, one row per evaluated step.
- Pythia evaluation folders (EleutherAI/pythia evals/pythia-v1): `<model>/{zero-shot,five-shot}/*_step{N}.json`.
- lm-evaluation-harness results JSON of a checkpoint sweep (old `acc` or new `acc,none` keys).
- A long table as CSV or Parquet, read as-is.
- A probecast workspace (checkpoints.json + labels/): acc/<task> = mean pass@1 per checkpoint.
Rows of step-0 / zero-token checkpoints are dropped: an untrained model has no compute to place on a law.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.forecast.schema import LONG_COLUMNS
from probecast.stored import read_csv, read_json, read_parquet

# allenai/OLMo-ladder src/scaling/utils.py (see ../shared/data/README.md): file prefix -> parameters N.
OLMO_LADDER_PARAMS = {"190M": 190_354_176, "370M": 371_262_464, "760M": 758_220_288, "1B": 1_279_395_840}
PYTHIA_TOKENS_PER_STEP = 2_097_152  # 1024 sequences x 2048 tokens
_STEP = re.compile(r"step[_-]?(\d+)", re.IGNORECASE)
_CKPT_DIR = re.compile(r"(step|checkpoint|global_step|iter|ckpt)[-_]?\d+", re.IGNORECASE)


def read_any(path: Path, shots: str = "zero", tokens_per_step: float | None = None) -> list[pd.DataFrame]:
    """Dispatch one file or folder to its adapter (a folder may hold several runs)."""
    if path.is_file():
        if path.suffix == ".parquet":
            return [read_parquet(path)]
        if path.suffix == ".csv":
            header = _read_csv(path, nrows=0).columns
            if "_step" in header and "throughput/total_tokens" in header:
                return [read_olmo_csv(path)]
            return [_read_csv(path)]  # a long table; validation names any missing column
        if path.suffix == ".json":
            return [read_lm_eval_files([path], run=None, tokens_per_step=tokens_per_step)]
        raise ProbecastError(f"{path}: unsupported file type (expected .csv, .parquet or .json)")
    if (path / "checkpoints.json").exists() and (path / "labels").is_dir():
        return [read_workspace(path)]
    if _is_pythia_model(path) or path.name in ("zero-shot", "five-shot"):
        return read_pythia_model(path, shots)
    pythia = [d for d in sorted(path.iterdir()) if d.is_dir() and _is_pythia_model(d)]
    if pythia:
        return [f for d in pythia for f in read_pythia_model(d, shots)]
    frames = [f for p in sorted(path.glob("*.csv")) + sorted(path.glob("*.parquet")) for f in read_any(p)]
    results = sorted(path.rglob("results*.json")) or sorted(path.glob("*.json"))
    if results:
        frames.append(read_lm_eval_files(results, run=path.name, tokens_per_step=tokens_per_step))
    return frames


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    return read_csv(path, f"give a CSV with a header row (a long table: {', '.join(LONG_COLUMNS)})", **kwargs)


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=LONG_COLUMNS)
    untrained = (df["tokens"] <= 0) | (df["flops"] <= 0) | (df["step"] <= 0)
    return df[~untrained.fillna(False)]


# ---- OLMo ladder -------------------------------------------------------------------------------------------
_OLMO_ACC = re.compile(r"^eval/downstream/(.+)_val_rc_5shot_(len_norm|acc)$")
_OLMO_BPB = re.compile(r"^eval/downstream_bpb/(.+)_val_rc_5shot_bpb$")
_OLMO_LOSS = re.compile(r"^eval/(.+)-validation/CrossEntropyLoss$")


def read_olmo_csv(path: Path) -> pd.DataFrame:
    """acc/<task>: validation rc_5shot_len_norm (rc_5shot_acc where only that exists, e.g. boolq);
    bpb/<task>: validation rc_5shot_bpb; loss/<set>: <set>-validation/CrossEntropyLoss. FLOPs from the CSV."""
    raw = _read_csv(path)
    run = path.stem
    prefix = run.split("-")[0]
    params = float(OLMO_LADDER_PARAMS.get(prefix, np.nan))
    columns: dict[str, str] = {}
    for col in raw.columns:
        if m := _OLMO_ACC.match(col):
            name = f"acc/{m.group(1)}"
            if m.group(2) == "len_norm" or name not in columns:
                columns[name] = col
        elif m := _OLMO_BPB.match(col):
            columns[f"bpb/{m.group(1)}"] = col
        elif m := _OLMO_LOSS.match(col):
            columns[f"loss/{m.group(1)}"] = col
    if not columns:
        raise ProbecastError(f"{path}: no eval/ columns found; is this an OLMo-ladder run CSV?")
    base = pd.DataFrame({
        "run": run, "step": raw["_step"].astype(np.int64), "tokens": raw["throughput/total_tokens"].astype(float),
        "flops": raw["throughput/total_training_Gflops"].astype(float) * 1e9
        if "throughput/total_training_Gflops" in raw else np.nan,
        "params": params})
    parts = [base.assign(metric=name, value=pd.to_numeric(raw[col], errors="coerce")) for name, col in columns.items()]
    return _frame(pd.concat(parts, ignore_index=True).to_dict("records"))


# ---- lm-evaluation-harness JSON (Pythia and generic sweeps) -----------------------------------------------
def parse_lm_eval_results(results: dict) -> dict[str, float]:
    """`{"results": {task: {...}}}` entries -> {metric name: value}; old keys (`acc`) and new (`acc,none`)."""
    out: dict[str, float] = {}
    for task, entry in results.items():
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            name, _, filt = key.partition(",")
            if name.endswith("_stderr") or name in ("alias", "sample_len") or isinstance(value, bool):
                continue
            if not isinstance(value, (int, float)):
                continue
            name = {"perplexity": "ppl"}.get(name, name)
            if filt and filt != "none":
                name = f"{name}:{filt}"
            out[f"{name}/{task}"] = float(value)
    return out


def _step_of(path: Path, config: dict, sidecar: dict) -> int | None:
    if "step" in sidecar:
        return int(sidecar["step"])
    for text in (path.name, *reversed([p.name for p in path.parents][:3]), str(config.get("model_args", ""))):
        if m := _STEP.search(text):
            return int(m.group(1))
    return None


def read_lm_eval_files(files: list[Path], run: str | None, tokens_per_step: float | None = None,
                       params: float = np.nan) -> pd.DataFrame:
    """One checkpoint per results file; the step comes from a sidecar `<file>.meta.json` ({"step", "tokens",
    "flops", "params"}), else `step123` in the file/folder name, else the model_args revision."""
    rows = []
    for path in files:
        obj = read_json(path, hint="re-run lm-eval for that checkpoint (or move the file out of --runs)")
        if not isinstance(obj, dict) or not isinstance(obj.get("results"), dict):
            continue  # not a results file (e.g. a samples or config file next to it)
        config = obj["config"] if isinstance(obj.get("config"), dict) else {}
        meta_path = path.with_name(path.name + ".meta.json")
        sidecar = read_json(meta_path, dict, hint="fix it or delete it") if meta_path.exists() else {}
        step = _step_of(path, config, sidecar)
        if step is None:
            raise ProbecastError(f"{path}: cannot tell the checkpoint step; name the file or folder step<N> "
                                 f"or add {meta_path.name} with {{\"step\": N, \"tokens\": ...}}")
        name = run or _model_name(config) or path.parent.name
        tokens = sidecar.get("tokens", step * tokens_per_step if tokens_per_step else np.nan)
        for metric, value in parse_lm_eval_results(obj["results"]).items():
            rows.append({"run": name, "step": step, "tokens": float(tokens),
                         "flops": float(sidecar.get("flops", np.nan)),
                         "params": float(sidecar.get("params", params)), "metric": metric, "value": value})
    df = _frame(rows)
    if np.isnan(df["flops"]).all() and not np.isnan(df["params"]).all():
        df["flops"] = 6.0 * df["params"] * df["tokens"]
    return df


def _model_name(config: dict) -> str | None:
    """The run a results file belongs to: the `pretrained=` model (a string in old lm-eval, a dict since 0.4.x);
    for a local checkpoint folder of a sweep (`.../<run>/step-300`) the run is its parent folder."""
    args = config.get("model_args", "")
    if isinstance(args, dict):
        pretrained = args.get("pretrained")
    else:
        m = re.search(r"pretrained=([^,]+)", str(args))
        pretrained = m.group(1) if m else None
    if not pretrained:
        return None
    parts = str(pretrained).rstrip("/").split("/")
    if len(parts) > 1 and _CKPT_DIR.fullmatch(parts[-1]):
        return parts[-2]
    return parts[-1]


def _is_pythia_model(path: Path) -> bool:
    return path.is_dir() and ((path / "zero-shot").is_dir() or (path / "five-shot").is_dir())


def pythia_params(models_md: Path) -> dict[str, float]:
    """Non-embedding parameters 12 * n_layers * d_model^2 per size (e.g. "70m") from pythia/MODELS.md."""
    out: dict[str, float] = {}
    if not models_md.exists():
        return out
    for line in models_md.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].isdigit() and cells[2].isdigit():
            out[cells[0].lower()] = 12.0 * int(cells[1]) * int(cells[2]) ** 2
    return out


def read_pythia_model(path: Path, shots: str = "zero") -> list[pd.DataFrame]:
    """A `pythia-<size>[-variant]` folder (or its zero-shot/ or five-shot/ subfolder). Zero-shot results are run
    `<model>`, five-shot `<model>-5shot`; tokens = step x 2,097,152 (scaled for the `-<x>MtokBS` variants)."""
    if path.name in ("zero-shot", "five-shot"):
        model, subdirs = path.parent, [path.name]
    else:
        model = path
        subdirs = {"zero": ["zero-shot"], "five": ["five-shot"], "all": ["zero-shot", "five-shot"]}.get(shots)
        if subdirs is None:
            raise ProbecastError(f"shots={shots!r}: expected zero, five or all")
    size = re.match(r"pythia-([\d.]+[mb])", model.name.lower())
    params = pythia_params(model.parent / "MODELS.md").get(size.group(1) if size else "", np.nan)
    batch = re.search(r"([\d.]+)MtokBS", model.name)
    per_step = PYTHIA_TOKENS_PER_STEP * (float(batch.group(1)) / 2.0 if batch else 1.0)
    frames = []
    for sub in subdirs:
        files = sorted((model / sub).glob("*.json"))
        if files:
            run = model.name + ("-5shot" if sub == "five-shot" else "")
            frames.append(read_lm_eval_files(files, run=run, tokens_per_step=per_step, params=params))
    return frames


# ---- long tables and workspaces ----------------------------------------------------------------------------
_PRED_COLUMNS = ("p_success", "predicted", "pred", "p_pass1")  # probes write p_success


def read_workspace(path: Path) -> pd.DataFrame:
    """acc/<task> = mean pass1 over questions per labelled checkpoint; pred/<probe>/<task> = the mean predicted
    pass@1 (`p_success`) of each probe's predictions/<probe>/<checkpoint>/<task>.parquet. step/tokens/flops/params from checkpoints.json; run = folder name."""
    from probecast.workspace import Workspace

    ws = Workspace(path, create=False)
    index = {r["id"]: r for r in ws.read_checkpoints()}
    labels = ws.read_labels()
    rows = []
    if not labels.empty:
        means = labels.groupby(["checkpoint", "task"])["pass1"].mean()
        rows += [_ws_row(path, index, ckpt, f"acc/{task}", v) for (ckpt, task), v in means.items()]
    for file in sorted((path / "predictions").glob("*/*/*.parquet")):
        df = read_parquet(file)
        probe = file.parent.parent.name
        ckpt = str(df["checkpoint"].iloc[0]) if "checkpoint" in df and len(df) else file.parent.name
        task = str(df["task"].iloc[0]) if "task" in df and len(df) else file.stem
        col = next((c for c in _PRED_COLUMNS if c in df.columns), None)
        if col is not None:
            rows.append(_ws_row(path, index, ckpt, f"pred/{probe}/{task}", float(df[col].mean())))
    return _frame(rows)


def _ws_row(path: Path, index: dict, ckpt: str, metric: str, value: float) -> dict:
    from probecast.workspace import safe_name

    rec = index.get(ckpt) or next((r for r in index.values() if safe_name(r["id"]) == ckpt), None)
    if rec is None:
        raise ProbecastError(f"{path}/checkpoints.json: no checkpoint {ckpt!r}; re-run the step that labels it")
    get = lambda key: float(rec[key]) if rec.get(key) is not None else np.nan  # noqa: E731
    return {"run": path.resolve().name, "step": int(rec.get("step") or 0), "tokens": get("tokens"),
            "flops": get("flops"), "params": get("params"), "metric": metric, "value": float(value)}
