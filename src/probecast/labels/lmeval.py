"""Import lm-evaluation-harness per-sample outputs (`--log_samples`) as probecast labels.

lm-eval writes, per task, `samples_<task>_<timestamp>.jsonl`: one record per document *and filter* with
`doc_id`, `doc`, `arguments` (the exact prompts), `resps`/`filtered_resps`, `doc_hash` (sha256 of the
document), and one value per metric (`acc`, `acc_norm`, `exact_match`, ...). Mapping to the labels schema:

- question id: the probecast id of the question whose prompt is byte-identical to lm-eval's context when a
  probecast task is given (so features extracted by probecast join these labels), else `doc_hash[:16]`;
- correctness: the per-sample metric (default: the record's first metric, e.g. `acc` or `exact_match`) of
  one filter (default: the first in the file, e.g. gsm8k's `strict-match`);
- repeats: every record of the same document (across all files given for a task, e.g. runs with different
  `--seed`) is one attempt: n = attempts, c = attempts scored >= 0.5, pass1 = c/n, sample_correct = the
  first attempt. Multiple-choice records (loglikelihood arguments) get n=1 and `acc_norm` when logged.

The checkpoint is taken from `--checkpoint`, else from the `pretrained=` path in the `results_*.json` next to
the samples file (its folder name gives the step, e.g. `step-300`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

import numpy as np
import pandas as pd
import typer

from probecast import validate as v
from probecast.checkpoints.discover import blank_path, step_from_name
from probecast.errors import ProbecastError
from probecast.lock import writes_workspace
from probecast.labels.passk import pass_at_k
from probecast.stored import read_json
from probecast.tasks.loaders import read_jsonl
from probecast.tasks.schema import Task

_SAMPLES = re.compile(r"^samples_(.+)_(\d{4}-\d{2}-\d{2}T[\d\-.]+)\.jsonl$")


def task_of_file(path: Path) -> str:
    m = _SAMPLES.match(path.name)
    if not m:
        raise ProbecastError(f"{path}: not an lm-eval samples file (expected the name lm-eval --log_samples "
                             f"writes, samples_<task>_<date>.jsonl, e.g. samples_gsm8k_2024-06-01T12-00-00.jsonl)")
    return m.group(1)


def contexts(record: dict) -> list[tuple[str, str | None]]:
    """(context, continuation or None) of every request of a record, in request order."""
    args = record.get("arguments")
    if isinstance(args, dict):  # lm-eval >= 0.4.3: {"gen_args_0": {"arg_0": ctx, "arg_1": cont | gen_kwargs}}
        items = [args[k] for k in sorted(args, key=lambda k: int(k.rsplit("_", 1)[-1]))]
        pairs = [(a.get("arg_0"), a.get("arg_1")) for a in items]
    elif isinstance(args, list):  # older: [[ctx, cont | gen_kwargs], ...]
        pairs = [(a[0], a[1] if len(a) > 1 else None) for a in args]
    else:
        raise ProbecastError(f"doc {record.get('doc_id')}: record has no `arguments`")
    return [(str(c), x if isinstance(x, str) else None) for c, x in pairs]


def is_loglik(record: dict) -> bool:
    return all(cont is not None for _, cont in contexts(record))


def _completion(record: dict) -> str:
    resp = record.get("filtered_resps")
    while isinstance(resp, list) and resp:
        resp = resp[0]
    return resp if isinstance(resp, str) else ""


def read_samples(paths: Iterable[str | Path], metric: str | None = None,
                 filter_name: str | None = None) -> dict[str, list[dict]]:
    """Records per lm-eval task, keeping one filter per task and checking the metric is there."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        path = Path(path)
        task = task_of_file(path)
        records = []
        for lineno, r in read_jsonl(path):
            missing = [k for k in ("doc_id", "doc_hash", "arguments") if k not in r]
            if missing:
                raise ProbecastError(f"{path}:{lineno}: the record has no {', '.join(missing)}; give the "
                                     f"samples_*.jsonl files lm-eval (>= 0.4) writes with --log_samples")
            records.append(r)
        if not records:
            raise ProbecastError(f"{path}: no records")
        filters = list(dict.fromkeys(r.get("filter", "none") for r in records))
        chosen = filter_name or filters[0]
        if chosen not in filters:
            raise ProbecastError(f"{path}: no records with filter {chosen!r}; filters in the file: {filters}")
        for r in records:
            if r.get("filter", "none") != chosen:
                continue
            name = metric or (r.get("metrics") or [None])[0]
            if name is None or name not in r:
                raise ProbecastError(f"{path}: doc {r.get('doc_id')} has no metric {name!r}; metrics logged: "
                                     f"{r.get('metrics')}; choose one with --metric")
            value = r[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ProbecastError(f"{path}: doc {r.get('doc_id')}: metric {name!r} = {value!r} is not a "
                                     f"per-sample correctness in [0, 1]; choose another with --metric")
            by_task[task].append({**r, "_score": float(value), "_metric": name, "_file": str(path)})
    return dict(by_task)


def _id_map(task: Task, records: list[dict], lmeval_task: str) -> dict[str, str]:
    """doc_hash → probecast question id, by exact prompt."""
    by_prompt = {task.prompt(q): q.id for q in task.questions}
    out = {}
    for r in records:
        ctx = contexts(r)[0][0]
        if ctx not in by_prompt:
            raise ProbecastError(f"lm-eval task {lmeval_task!r} doc {r.get('doc_id')}: its prompt matches no question "
                                 f"of probecast task {task.name!r} ({ctx[-80:]!r}); the prompts differ or the task "
                                 f"has fewer questions (--limit)")
        out[r["doc_hash"]] = by_prompt[ctx]
    return out


def samples_to_labels(records: list[dict], lmeval_task: str, checkpoint: str, step: int | None,
                      task: Task | None = None) -> pd.DataFrame:
    """One labels row per document (schema of W/labels/); `task` maps ids/domain/name to a probecast task."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r["_file"], r["doc_id"])):
        groups[r["doc_hash"]].append(r)
    ids = _id_map(task, records, lmeval_task) if task is not None else {h: h[:16] for h in groups}
    mc = is_loglik(records[0])
    rows = []
    for h, rs in sorted(groups.items(), key=lambda kv: kv[1][0]["doc_id"]):
        scores = [r["_score"] for r in rs]
        n, c = len(scores), int(sum(s >= 0.5 for s in scores))
        row = {"checkpoint": checkpoint, "step": int(step) if step is not None else -1,
               "task": task.name if task is not None else lmeval_task, "question_id": ids[h],
               "domain": task.domain if task is not None else "general", "difficulty": np.nan, "n": n, "c": c,
               "pass1": c / n, "k": n, "pass_at_k": pass_at_k(n, c, n), "sample_correct": float(scores[0] >= 0.5),
               "greedy_correct": np.nan, "lmeval_doc_id": int(rs[0]["doc_id"]), "lmeval_doc_hash": h,
               "lmeval_metric": rs[0]["_metric"], "lmeval_filter": rs[0].get("filter", "none")}
        if mc:
            row["greedy_correct"] = float(scores[0] >= 0.5)
            if "acc_norm" in rs[0]:
                row["acc_norm"] = float(rs[0]["acc_norm"])
            row["completions"] = []
        else:
            row["completions"] = [_completion(r) for r in rs]
        rows.append(row)
    return pd.DataFrame(rows)


def checkpoint_from_results(samples_file: Path) -> tuple[str, int | None, str]:
    """(checkpoint id, step, path) from the `pretrained=` path of a results_*.json beside the samples file."""
    stamp = _SAMPLES.match(samples_file.name).group(2)
    candidates = [samples_file.parent / f"results_{stamp}.json", *sorted(samples_file.parent.glob("results_*.json"))]
    for res in candidates:
        if res.is_file():
            cfg = read_json(res, dict, hint="give --checkpoint (and --step) instead").get("config")
            args = cfg.get("model_args") if isinstance(cfg, dict) else None
            if isinstance(args, str):
                args = dict(kv.split("=", 1) for kv in args.split(",") if "=" in kv)
            pretrained = str((args or {}).get("pretrained") or "").strip()
            if pretrained:
                name = Path(pretrained).name
                return name, step_from_name(name), pretrained
    raise ProbecastError(f"{samples_file}: no results_*.json with model_args pretrained=... beside it; "
                         f"give --checkpoint (and --step)")


def import_lmeval(ws, paths: Sequence[str | Path], checkpoint: str | None = None, step: int | None = None,
                  metric: str | None = None, filter_name: str | None = None,
                  tasks: Sequence[Task] | None = None, task_map: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Write W/labels/<checkpoint>/<task>.parquet for every lm-eval task in `paths`; returns the tables.

    `tasks` are probecast tasks to map ids onto: the one named like the lm-eval task (or `task_map[lm-eval
    name]`), or the only one given."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ProbecastError("no lm-eval samples files given")
    for p in paths:  # every name checked before anything is read or written
        task_of_file(p)
    if checkpoint is None:
        checkpoint, inferred, path = checkpoint_from_results(paths[0])
        step = step if step is not None else inferred
    elif blank_path(checkpoint):  # an id names the labels' folder and, without a results file, the path too
        raise ProbecastError(f"--checkpoint {checkpoint!r}: empty; give the checkpoint's id, or leave --checkpoint "
                             f"out to read it from the results_*.json beside the samples file")
    else:  # the path the results file names (what lm-eval loaded), else the id itself (a hub id or a folder)
        try:
            path = checkpoint_from_results(paths[0])[2]
        except ProbecastError:
            path = checkpoint
    by_name = {t.name: t for t in (tasks or [])}
    out, writes = {}, []
    for lm_task, records in read_samples(paths, metric, filter_name).items():
        wanted = (task_map or {}).get(lm_task, lm_task)
        task = by_name.get(wanted) or (next(iter(by_name.values())) if len(by_name) == 1 else None)
        if by_name and task is None:
            raise ProbecastError(f"lm-eval task {lm_task!r}: no probecast task named {wanted!r} among {list(by_name)}")
        df = samples_to_labels(records, lm_task, checkpoint, step, task)
        meta = {"source": "lm-eval", "files": sorted({r["_file"] for r in records}), "lmeval_task": lm_task,
                "metric": records[0]["_metric"], "filter": records[0].get("filter", "none"),
                "task": df["task"].iloc[0], "checkpoint": checkpoint, "n_questions": len(df),
                "mode": "loglik" if is_loglik(records[0]) else "generate"}
        writes.append((df["task"].iloc[0], df, meta))
        out[df["task"].iloc[0]] = df
    for name, df, meta in writes:  # written only once every file has been read and mapped
        ws.write_labels(checkpoint, name, df, meta)
    record = {"id": checkpoint, "path": path, **({"step": step} if step is not None else {})}
    if not any(r["id"] == checkpoint for r in ws.read_checkpoints()):
        ws.add_checkpoints([record])
    return out


def register(app: typer.Typer) -> None:
    @app.command("import-lmeval")
    @writes_workspace("import-lmeval")
    def import_lmeval_cmd(
        files: List[Path] = typer.Argument(..., help="lm-eval samples_<task>_<date>.jsonl files (--log_samples).",
                                          callback=v.input_files),
        ws: Path = typer.Option(..., "--ws", help="Workspace to write labels into.", callback=v.workspace_out),
        checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Checkpoint id (default: from results_*.json)."),
        step: Optional[int] = typer.Option(None, "--step", min=0),
        metric: Optional[str] = typer.Option(None, "--metric", help="Per-sample metric (default: the first logged)."),
        filter_name: Optional[str] = typer.Option(None, "--filter", help="lm-eval filter (default: the first logged)."),
        tasks: Optional[str] = typer.Option(None, "--tasks", help="probecast tasks to map question ids onto by prompt "
                                            "(e.g. piqa,gsm8k or FILE.jsonl); default: ids are lm-eval doc hashes."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Question limit of --tasks (as lm-eval's --limit)."),
        task_map: Optional[str] = typer.Option(None, "--task-map", help="lm-eval=probecast name pairs, e.g. pc_mc=colors."),
    ) -> None:
        """Import lm-evaluation-harness per-sample results as labels (W/labels/<checkpoint>/<task>.parquet)."""
        from probecast.ui import console

        from probecast.tasks.registry import load_tasks
        from probecast.workspace import Workspace

        task_list = load_tasks(tasks, limit=limit) if tasks else None
        mapping = dict(kv.split("=", 1) for kv in task_map.split(",")) if task_map else None
        tables = import_lmeval(Workspace(ws), files, checkpoint, step, metric, filter_name, task_list, mapping)
        for name, df in tables.items():
            console().print(f"{name}: {len(df)} questions, mean pass@1 {df['pass1'].mean():.3f} "
                            f"(n per question {int(df['n'].min())}-{int(df['n'].max())}) → checkpoint "
                            f"{df['checkpoint'].iloc[0]}")
