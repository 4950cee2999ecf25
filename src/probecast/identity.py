"""Settings are part of a result's identity: a rerun never silently skips or silently replaces a result made
with other settings.

A result file records the settings that made it (labels: the `LabelConfig` in the Parquet metadata and the
question ids in its rows; features: the `ExtractConfig` and the question ids in the safetensors metadata; the
evaluation: its split, probe parameters and method/task selection in summary.json `evaluation_settings`).
Before any work, a command compares what it is asked with what is on disk:

- same settings: the result is done and is skipped (resumable runs);
- other settings: one-line error naming the file(s), the differing option with both values, and `--force`,
  which recomputes exactly those results (the new file replaces the old one atomically);
- `evaluate` with no split options reuses the recorded ones, so a rerun reproduces the recorded summary.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

from probecast.errors import ProbecastError
from probecast.stored import read_json, read_parquet
from probecast.workspace import Workspace

# result setting -> the option that sets it
LABEL_FLAGS = {"samples": "--samples", "temperature": "--temperature", "top_p": "--top-p",
               "max_new_tokens": "--max-new-tokens", "greedy": "--greedy/--no-greedy", "seed": "--seed"}
EXTRACT_FLAGS = {"layers": "--layers", "tail_tokens": "--tail-tokens", "dtype": "--store-dtype",
                 "mean_pool": "mean_pool", "tail_layer": "tail_layer", "answer_loglik": "answer_loglik",
                 "alternatives": "alternatives", "next_token": "next_token",
                 "answer_pool": "answer_pool", "others_pool": "others_pool"}
QUESTIONS = "--limit"  # a different question set (a changed --limit, or a changed task file)
SPLIT_FLAGS = {"train_checkpoints": "--train-checkpoints", "n_train_checkpoints": "--n-train",
               "test_fraction": "--test-fraction", "seed": "--seed"}
EVAL_FLAGS = {"probe_params": "--param", "probes": "--probes", "baselines": "--baselines", "tasks": "--tasks"}


@dataclass(frozen=True)
class Difference:
    flag: str
    stored: Any
    asked: Any
    recorded: bool = True  # False: the result predates this setting (not recorded), so it may or may not match

    def __str__(self) -> str:
        stored = _show(self.stored) if self.recorded else "not recorded"
        return f"{self.flag} {stored} (this run: {_show(self.asked)})"


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v)) if v else "none"
    return "default" if v is None else json.dumps(v) if isinstance(v, dict) else str(v)


def _norm(v: Any) -> Any:
    return json.loads(json.dumps(v))  # tuples -> lists, as stored


def differences(stored: dict, asked: dict, flags: dict[str, str], unrecorded: bool = False) -> list[Difference]:
    """The settings that differ; `unrecorded=True` also lists those the result predates (`recorded=False`)."""
    found = [Difference(flag, stored.get(key), asked.get(key)) for key, flag in flags.items()
             if key in stored and _norm(stored[key]) != _norm(asked.get(key))]
    return found + [Difference(flag, None, asked.get(key), recorded=False)
                    for key, flag in flags.items() if unrecorded and key not in stored]


def _question_difference(stored_ids: Sequence[str], task) -> list[Difference]:
    asked = [str(q.id) for q in task.questions]
    if [str(i) for i in stored_ids] == asked:
        return []
    return [Difference(QUESTIONS, f"{len(stored_ids)} questions", f"{len(asked)} questions")]


# ---- labels and features ---------------------------------------------------------------------------------
def label_differences(ws: Workspace, ckpt_id: str, task, cfg) -> list[Difference]:
    """How the labels on disk for (checkpoint, task) differ from `cfg` and the task's questions."""
    meta = ws.label_metadata(ckpt_id, task.name)
    if meta.get("mode") == "loglik":  # multiple choice: scored by log-likelihood, sampling settings unused
        found = []
    else:
        found = differences(meta.get("settings", {}), asdict(cfg), LABEL_FLAGS, unrecorded=True)
    ids = read_parquet(ws.labels_path(ckpt_id, task.name), columns=["question_id"])["question_id"].tolist()
    return found + _question_difference(ids, task)


def feature_differences(ws: Workspace, ckpt_id: str, task, cfg) -> list[Difference]:
    from probecast.features.store import read_features_metadata

    meta = read_features_metadata(ws, ckpt_id, task.name)
    stored = json.loads(meta.get("settings", "{}"))
    return (differences(stored, cfg.to_dict(), EXTRACT_FLAGS, unrecorded=True)
            + _question_difference(json.loads(meta.get("question_ids", "[]")), task))


def stale_results(checkpoints: Sequence, tasks: Sequence, exists: Callable[[str, str], bool],
                  differ: Callable[[str, Any], list[Difference]], path: Callable[[str, str], Any],
                  force: bool, verb: str) -> frozenset[tuple[str, str]]:
    """The (checkpoint id, task) results on disk made with other settings: returned for recomputing with
    `force`, else a ProbecastError naming the first file, how many there are and the differing options.

    A result that predates a setting (not recorded in it) counts as current without `force`, so an older
    workspace keeps working; with `force` it is recomputed, since nothing says it matches."""
    stale: dict[tuple[str, str], list[Difference]] = {}
    for c in checkpoints:
        for t in tasks:
            if exists(c.id, t.name):
                found = differ(c.id, t)
                if any(d.recorded for d in found) or (force and found):
                    stale[(c.id, t.name)] = found
    if stale and not force:
        (ckpt, task), found = next(iter(stale.items()))
        found = [d for d in found if d.recorded]
        more = f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""
        raise ProbecastError(f"{path(ckpt, task)}{more} {'were' if more else 'was'} made with "
                             f"{'; '.join(map(str, found))}; pass --force "
                             f"to {verb} them with this run's settings (replacing them), or run with the recorded "
                             f"settings")
    return frozenset(stale)


def check_probe_refit(ws: Workspace, name: str, probe: str, params: dict, force: bool) -> None:
    """`fit --name NAME` over a probe fitted with another kind or other parameters: an error unless --force."""
    from probecast.probes.base import make_probe

    path = ws.probe_dir(name) / "config.json"
    if force or not path.exists():
        return
    stored = read_json(path, dict)
    if stored.get("probe") != probe:
        found = [Difference("--probe", stored.get("probe"), probe)]
    else:
        asked = make_probe(probe, **params).get_params()
        found = differences(stored.get("config", {}), asked, {k: f"--param {k}" for k in asked})
    if found:
        raise ProbecastError(f"{path.parent} holds a probe fitted with {'; '.join(map(str, found))}; pass --force to "
                             f"refit it with this run's settings (replacing it), or --name NEW to keep both")


# ---- evaluation ------------------------------------------------------------------------------------------
def recorded_evaluation(ws: Workspace) -> dict:
    """The settings of the evaluation summary.json records ({} when there is none). Summaries written before
    settings were recorded give their split only."""
    from probecast.evaluation.splits import LEGACY_SPLIT_SCHEME

    summary = ws.read_summary()
    settings = dict(summary.get("evaluation_settings") or {})
    if "split" not in settings and "split" in summary:
        settings["split"] = {k: summary["split"].get(k) for k in SPLIT_FLAGS if k in summary["split"]}
    if "split" in settings:  # an evaluation is recorded (summary.json may hold only `latency` so far)
        settings.setdefault("split_scheme", LEGACY_SPLIT_SCHEME)
    return settings


def check_split_scheme(ws: Workspace, recorded: dict | None = None) -> None:
    """A ProbecastError when the recorded evaluation's held-out questions were drawn with another split scheme
    than this version's (`evaluation.splits.SPLIT_SCHEME`): the same seed would hold out other questions."""
    from probecast.evaluation.splits import SPLIT_SCHEME, SPLIT_SCHEMES

    scheme = (recorded_evaluation(ws) if recorded is None else recorded).get("split_scheme", SPLIT_SCHEME)
    if scheme != SPLIT_SCHEME:
        raise ProbecastError(f"{ws.summary_file} records an evaluation whose held-out questions were drawn with the "
                             f"{scheme!r} split scheme ({SPLIT_SCHEMES.get(scheme, 'unknown')}); this version uses "
                             f"{SPLIT_SCHEME!r} ({SPLIT_SCHEMES[SPLIT_SCHEME]}), so the same --seed holds out other "
                             f"questions: pass --force to re-evaluate (replacing it)")


def resolve_evaluation(ws: Workspace, split: dict, selection: dict, force: bool) -> dict:
    """This run's evaluation settings: every option left out (None) takes the recorded value (else the
    default); options given that differ from the record are an error without --force.

    `split`: train_checkpoints, n_train_checkpoints, test_fraction, seed; `selection`: probe_params, probes,
    baselines, tasks. Returns {"split": {...}, **selection} with the values to use."""
    from probecast.evaluation.splits import SplitConfig

    recorded = recorded_evaluation(ws)
    if not force:
        check_split_scheme(ws, recorded)
    rec_split = recorded.get("split", {})
    asked_split = {k: v for k, v in split.items() if v is not None}
    if "train_checkpoints" in asked_split or "n_train_checkpoints" in asked_split:  # one way to choose them
        asked_split.setdefault("train_checkpoints", None)
    found = [d for d in differences(rec_split, asked_split, SPLIT_FLAGS) if d.flag in _given(asked_split)]
    asked_sel = {k: v for k, v in selection.items() if v is not None}
    found += [d for d in differences(recorded, asked_sel, EVAL_FLAGS) if d.flag in _given(asked_sel, EVAL_FLAGS)]
    if found and not force:
        raise ProbecastError(f"{ws.summary_file} records an evaluation with {'; '.join(map(str, found))}; pass "
                             f"--force to replace it with this run's, or leave these options out to reuse the "
                             f"recorded ones")
    defaults = asdict(SplitConfig())
    out = {"split": {k: asked_split[k] if k in asked_split else rec_split.get(k, defaults[k]) for k in SPLIT_FLAGS}}
    out.update({k: asked_sel[k] if k in asked_sel else recorded.get(k) for k in EVAL_FLAGS})
    return out


def evaluation_settings(split, probe_params: dict | None, probes: list[str] | None, baselines: list[str] | None,
                        tasks: list[str] | None) -> dict:
    """What summary.json records as the identity of an evaluation (read back by `resolve_evaluation`)."""
    from probecast.evaluation.splits import SPLIT_SCHEME

    return {"split": {k: v for k, v in asdict(split).items() if k in SPLIT_FLAGS}, "split_scheme": SPLIT_SCHEME,
            "probe_params": probe_params or {}, "probes": probes, "baselines": baselines, "tasks": tasks}


def _given(asked: dict, flags: dict[str, str] = SPLIT_FLAGS) -> set[str]:
    return {flags[k] for k in asked if k in flags}
