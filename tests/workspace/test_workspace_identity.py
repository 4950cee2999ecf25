"""Settings are part of a result's identity: reruns with other settings stop with one error line naming the
option and --force (and leave the workspace as it was), --force recomputes; tasks.json keeps one entry per task;
a checkpoint that fails is not recorded; evaluate reuses the recorded split."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from probecast.cli import main
from probecast.errors import ProbecastError
from probecast.evaluation.splits import SPLIT_SCHEME
from probecast.identity import resolve_evaluation
from probecast.resolve import resolve_tasks
from probecast.workspace import Workspace


def cli(capsys, *args) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr().err.strip().splitlines()


def snapshot(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(capsys, ws: Path, *args, needles: tuple[str, ...]) -> None:
    before = snapshot(ws)
    code, err = cli(capsys, *args)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    for needle in needles:
        assert needle in err[0], err
    assert snapshot(ws) == before


def test_label_samples_after_samples_relabels_only_with_force(tiny_run, tmp_path, capsys):
    ws = tmp_path / "ws"
    base = ["label", tiny_run, "--ws", ws, "--tasks", "add", "--limit", "4", "--no-greedy", "--checkpoints", "step-1"]
    assert cli(capsys, *base, "--samples", "4")[0] == 0
    refused(capsys, ws, *base, "--samples", "8", needles=("add.parquet", "--samples 4 (this run: 8)", "--force"))
    before = snapshot(ws)
    assert cli(capsys, *base, "--samples", "4")[0] == 0  # same settings: done, skipped, nothing rewritten
    assert snapshot(ws) == before
    assert cli(capsys, *base, "--samples", "8", "--force")[0] == 0
    df = pd.read_parquet(Workspace(ws).labels_path("step-1", "add"))
    assert len(df) == 4 and set(df["n"]) == {8}


def test_one_task_entry_and_features_follow_the_labels_questions(tiny_run, tmp_path, capsys):
    ws = tmp_path / "ws"
    label = ["label", tiny_run, "--ws", ws, "--tasks", "add", "--samples", "2", "--no-greedy", "--checkpoints", "step-1"]
    extract = ["extract", "--ws", ws, "--tail-tokens", "0"]
    assert cli(capsys, *label, "--limit", "4")[0] == 0
    refused(capsys, ws, *label, "--limit", "6", needles=("tasks.json", "task add with --limit 4 (this run: 6)",
                                                         "--force"))
    assert cli(capsys, *label)[0] == 0  # no --limit: the recorded one
    assert json.loads((ws / "tasks.json").read_text()) == [{"task": "add", "spec": "add", "limit": 4}]
    assert cli(capsys, *extract)[0] == 0
    assert cli(capsys, *label, "--limit", "6", "--force")[0] == 0
    assert json.loads((ws / "tasks.json").read_text()) == [{"task": "add", "spec": "add", "limit": 6}]
    w = Workspace(ws)
    assert len(pd.read_parquet(w.labels_path("step-1", "add"))) == 6
    refused(capsys, ws, *extract, needles=("add.safetensors", "--limit 4 questions (this run: 6 questions)", "--force"))
    refused(capsys, ws, *extract, "--limit", "4", needles=("--limit 6 (this run: 4)",))
    assert cli(capsys, *extract, "--force")[0] == 0
    from probecast.features.store import read_features_metadata

    assert len(json.loads(read_features_metadata(w, "step-1", "add")["question_ids"])) == 6
    refused(capsys, ws, "extract", "--ws", ws, "--tail-tokens", "2", needles=("--tail-tokens 0 (this run: 2)",))
    fit = ["fit", "--ws", ws, "--probe", "ridge", "--param", "layer=1", "--param", "n_folds=2"]
    assert cli(capsys, *fit)[0] == 0
    refused(capsys, ws, *fit[:-2], "--param", "n_folds=3", needles=("--param n_folds 2 (this run: 3)", "--force", "--name"))
    refused(capsys, ws, *fit[:3], "--probe", "linear", "--name", "ridge", needles=("--probe ridge (this run: linear)",))
    assert cli(capsys, *fit[:-2], "--param", "n_folds=3", "--force")[0] == 0
    assert json.loads((ws / "probes" / "ridge" / "config.json").read_text())["config"]["n_folds"] == 3


def test_older_task_lists_with_repeated_entries_give_one_task(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir(parents=True, exist_ok=True)  # a workspace folder appears with its first result
    ws.tasks_file.write_text(json.dumps([{"spec": "add,copy", "limit": 4}, {"spec": "add", "limit": 6}]))
    tasks = resolve_tasks(None, ws)
    assert [(t.name, len(t.questions)) for t in tasks] == [("add", 4), ("copy", 4)]


def test_a_checkpoint_that_fails_is_not_recorded(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copytree(tiny_run / "step-1", run / "step-1")
    shutil.copytree(tiny_run / "step-8", run / "step-8")
    (run / "step-8" / "model.safetensors").write_bytes(os.urandom(4096))
    ws = tmp_path / "ws"
    code, err = cli(capsys, "label", run, "--ws", ws, "--tasks", "add", "--limit", "3", "--samples", "1")
    assert code == 2 and err[-1].startswith("error: ") and "step-8" in err[-1], err
    assert [r["id"] for r in Workspace(ws).read_checkpoints()] == ["step-1"]
    assert [p.name for p in (ws / "labels").iterdir()] == ["step-1"]


def _summary(ws: Workspace, **settings) -> None:
    """A summary.json; without settings, one written before settings were recorded (its split block only)."""
    ws.summary_file.write_text(json.dumps({"split": {"train_checkpoints": ["a", "b"], "n_train_checkpoints": 2,
                                                     "test_fraction": 0.3, "seed": 0, "n_test_questions": 9},
                                           **({"evaluation_settings": settings} if settings else {})}))


def test_evaluate_reuses_the_recorded_split_and_refuses_another_without_force(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir(parents=True, exist_ok=True)  # a workspace folder appears with its first result
    none = {"train_checkpoints": None, "n_train_checkpoints": None, "test_fraction": None, "seed": None}
    nosel = {"probe_params": None, "probes": None, "baselines": None, "tasks": None}
    assert resolve_evaluation(ws, none, nosel, False)["split"] == {"train_checkpoints": None, "n_train_checkpoints": 2,
                                                                   "test_fraction": 0.3, "seed": 0}
    split = {"train_checkpoints": ["a", "b"], "n_train_checkpoints": 2, "test_fraction": 0.3, "seed": 0}
    _summary(ws, split=split, split_scheme=SPLIT_SCHEME)
    assert resolve_evaluation(ws, none, nosel, False)["split"]["train_checkpoints"] == ["a", "b"]
    with pytest.raises(ProbecastError, match=r"--test-fraction 0.3 \(this run: 0.5\).*--force"):
        resolve_evaluation(ws, {**none, "test_fraction": 0.5}, nosel, False)
    with pytest.raises(ProbecastError, match=r"--train-checkpoints a,b \(this run: default\); --n-train 2 \(this run: 3\)"):
        resolve_evaluation(ws, {**none, "n_train_checkpoints": 3}, nosel, False)
    forced = resolve_evaluation(ws, {**none, "n_train_checkpoints": 3}, nosel, True)["split"]
    assert forced == {"train_checkpoints": None, "n_train_checkpoints": 3, "test_fraction": 0.3, "seed": 0}
    _summary(ws, split=split, split_scheme=SPLIT_SCHEME,
             probe_params={"mlp": {"hidden": 8}}, probes=None, baselines=["carry_forward"], tasks=None)
    chosen = resolve_evaluation(ws, none, nosel, False)
    assert chosen["probe_params"] == {"mlp": {"hidden": 8}} and chosen["baselines"] == ["carry_forward"]
    with pytest.raises(ProbecastError, match="--param"):
        resolve_evaluation(ws, none, {**nosel, "probe_params": {"mlp": {"hidden": 16}}}, False)
    with pytest.raises(ProbecastError, match=r"--probes default \(this run: linear\)"):
        resolve_evaluation(ws, none, {**nosel, "probes": ["linear"]}, False)


def test_an_evaluation_split_with_the_old_scheme_is_not_silently_redrawn(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir(parents=True, exist_ok=True)
    none = {"train_checkpoints": None, "n_train_checkpoints": None, "test_fraction": None, "seed": None}
    nosel = {"probe_params": None, "probes": None, "baselines": None, "tasks": None}
    ws.summary_file.write_text(json.dumps({"latency_s": {"probe": 1.0}}))  # no evaluation recorded yet
    assert resolve_evaluation(ws, none, nosel, False)["split"]["n_train_checkpoints"] == 2
    _summary(ws)  # written before the scheme was recorded: held-out questions from one stream shared by all tasks
    with pytest.raises(ProbecastError, match=r"'shared' split scheme .*same --seed holds out other questions.*--force"):
        resolve_evaluation(ws, none, nosel, False)
    forced = resolve_evaluation(ws, none, nosel, True)["split"]  # re-evaluated with the recorded options
    assert forced == {"train_checkpoints": ["a", "b"], "n_train_checkpoints": 2, "test_fraction": 0.3, "seed": 0}


def test_features_that_predate_a_setting_are_kept_and_redone_by_force(tiny_run, tmp_path, capsys):
    """Features written before `answer_pool` existed record no such setting and hold no answer states: extract
    keeps them (an older workspace keeps working), extract --force recomputes them, and a probe that reads the
    answer's states says to do that."""
    from safetensors.numpy import load_file, save_file

    from probecast.features.store import read_features_metadata

    ws = tmp_path / "ws"
    assert cli(capsys, "label", tiny_run, "--ws", ws, "--tasks", "add", "--limit", "4", "--samples", "2",
               "--no-greedy", "--checkpoints", "step-1")[0] == 0
    extract = ["extract", "--ws", ws, "--tail-tokens", "0"]
    assert cli(capsys, *extract)[0] == 0
    w = Workspace(ws)
    path = w.features_path("step-1", "add")
    meta = read_features_metadata(w, "step-1", "add")
    settings = json.loads(meta["settings"])
    assert settings["answer_pool"] is True
    del settings["answer_pool"]
    arrays = {k: v for k, v in load_file(str(path)).items() if k != "hidden_answer"}
    save_file(arrays, str(path), metadata={**meta, "settings": json.dumps(settings)})  # as session 21 wrote them
    before = snapshot(ws)
    assert cli(capsys, *extract)[0] == 0
    assert snapshot(ws) == before
    code, err = cli(capsys, "fit", "--ws", ws, "--probe", "ridge", "--param", "pooling=answer", "--param", "layer=1",
                    "--param", "n_folds=2")
    assert code == 2 and "hidden_answer" in err[-1] and "extract --force" in err[-1], err
    assert cli(capsys, *extract, "--force")[0] == 0
    assert json.loads(read_features_metadata(w, "step-1", "add")["settings"])["answer_pool"] is True
    assert "hidden_answer" in load_file(str(path))
    assert cli(capsys, "fit", "--ws", ws, "--probe", "ridge", "--param", "pooling=answer", "--param", "layer=1",
               "--param", "n_folds=2")[0] == 0
