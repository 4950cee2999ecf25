"""Really run lm-evaluation-harness (`lm_eval --log_samples`, no hub) on a local checkpoint and local task files,
then check (1) imported labels agree question by question with lm-eval's own per-sample scores, (2) probecast's
own log-likelihood labels agree with lm-eval's on the same MC JSONL task, (3) probecast's GSM8K and PIQA
prompts are byte-identical to the installed lm-eval's `gsm8k` / `piqa` task configs (only the dataset is
swapped for the local files), and (4) the results_*.json import into the forecasters' long table."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

N_MC, N_GEN, N_BENCH = 24, 8, 4


def _lm_eval_dir() -> Path:
    lm_eval = pytest.importorskip("lm_eval", reason="lm-eval is not installed (pip install lm-eval)")
    return Path(lm_eval.__file__).parent


def _upstream(name: str, **swap) -> dict:
    """The installed lm-eval task config with only the dataset swapped for local files."""
    import yaml

    cfg = yaml.safe_load((_lm_eval_dir() / "tasks" / name / f"{name}.yaml").read_text())
    cfg.pop("tag", None)
    cfg.pop("dataset_name", None)
    cfg.update(swap)
    return cfg


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_CACHE": str(cwd / "hf-cache"), "TOKENIZERS_PARALLELISM": "false"}
    exe = shutil.which("lm_eval", path=str(Path(sys.executable).parent)) or "lm_eval"
    proc = subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def lmeval_run(tiny_run, tmp_path_factory):
    import yaml

    from probecast.tasks.registry import shared_data_dir
    from probecast.tasks.synthetic import COLORS, SyntheticSuite

    root = tmp_path_factory.mktemp("lmeval")
    rng = random.Random(0)
    with (root / "mc.jsonl").open("w") as f:  # a new MC benchmark: gold at a random position
        for q in SyntheticSuite().task("color").subset(N_MC).questions:
            choices = rng.sample([c for c in COLORS if c != q.answers[0]], 3)
            gold = rng.randrange(4)
            choices.insert(gold, q.answers[0])
            f.write(json.dumps({"question": q.text, "choices": choices, "answer": gold}) + "\n")
    with (root / "gen.jsonl").open("w") as f:
        for q in SyntheticSuite().task("add").subset(N_GEN).questions:
            f.write(json.dumps({"question": q.text, "answer": q.answers[0]}) + "\n")
    tasks = root / "tasks"
    tasks.mkdir()
    local = lambda files: {"dataset_path": "json", "dataset_kwargs": {"data_files": files}}  # noqa: E731
    (tasks / "mc.yaml").write_text(yaml.safe_dump({
        "task": "pc_mc", **local({"test": str(root / "mc.jsonl")}), "test_split": "test",
        "output_type": "multiple_choice", "doc_to_text": "Question: {{question}}\nAnswer:",
        "doc_to_choice": "{{choices}}", "doc_to_target": "answer",
        "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]}))
    (tasks / "gen.yaml").write_text(yaml.safe_dump({
        "task": "pc_gen", **local({"test": str(root / "gen.jsonl")}), "test_split": "test",
        "output_type": "generate_until", "doc_to_text": "{{question}}", "doc_to_target": "{{answer}}",
        "generation_kwargs": {"until": ["\n"], "do_sample": True, "temperature": 1.0, "max_gen_toks": 6},
        "metric_list": [{"metric": "exact_match"}]}))
    names = "pc_mc,pc_gen"
    data = shared_data_dir()
    if data and (data / "benchmarks" / "gsm8k").is_dir() and (data / "benchmarks" / "piqa").is_dir():
        bench = data / "benchmarks"
        (tasks / "gsm8k.yaml").write_text(yaml.safe_dump(_upstream(
            "gsm8k", task="gsm8k_local",
            **local({"train": str(bench / "gsm8k" / "train.jsonl"), "test": str(bench / "gsm8k" / "test.jsonl")}))))
        labels = (bench / "piqa" / "valid-labels.lst").read_text().split()
        with (root / "piqa.jsonl").open("w") as f:
            for line, lab in zip((bench / "piqa" / "valid.jsonl").read_text().splitlines()[:N_BENCH], labels):
                f.write(json.dumps({**json.loads(line), "label": int(lab)}) + "\n")
        (tasks / "piqa.yaml").write_text(yaml.safe_dump(_upstream(
            "piqa", task="piqa_local", training_split=None, validation_split="validation",
            **local({"validation": str(root / "piqa.jsonl")}))))
        names += ",gsm8k_local,piqa_local"
    ckpt = tiny_run / "step-24"
    common = ["--model", "hf", "--model_args", f"pretrained={ckpt},dtype=float32,add_bos_token=True",
              "--include_path", str(tasks), "--log_samples", "--device", "cpu", "--batch_size", "8"]
    # gsm8k's 256-token generations would dominate; its prompts are what is checked, so cap the answers
    _run([*common, "--tasks", names, "--limit", str(N_MC), "--output_path", str(root / "out"),
          "--gen_kwargs", "max_gen_toks=6"], root)
    _run([*common, "--tasks", "pc_gen", "--seed", "1,1,1,1", "--output_path", str(root / "out2")], root)
    early = ["--model_args", f"pretrained={tiny_run / 'step-8'},dtype=float32,add_bos_token=True"]
    _run([*common, *early, "--tasks", "pc_mc", "--output_path", str(root / "out3")], root)
    return root, ckpt


def _samples(root: Path, sub: str, task: str) -> Path:
    (path,) = sorted((root / sub).glob(f"*/samples_{task}_*.jsonl"))
    return path


def test_imported_labels_agree_with_lmeval_per_sample(lmeval_run):
    from probecast.labels.lmeval import import_lmeval
    from probecast.tasks.loaders import load_jsonl_task, read_jsonl
    from probecast.workspace import Workspace

    root, ckpt = lmeval_run
    ws = Workspace(root / "ws")
    mc_task = load_jsonl_task(root / "mc.jsonl")
    tables = import_lmeval(ws, [_samples(root, "out", "pc_mc")], tasks=[mc_task])
    df = tables["mc"].set_index("question_id")
    records = [r for _, r in read_jsonl(_samples(root, "out", "pc_mc"))]
    assert len(df) == len(records) == N_MC
    for r, q in zip(sorted(records, key=lambda r: r["doc_id"]), mc_task.questions):
        assert df.loc[q.id, "c"] == r["acc"] and df.loc[q.id, "acc_norm"] == r["acc_norm"]
    assert 0 < df["c"].sum() < N_MC  # both classes present, so agreement is not trivial
    assert ws.read_checkpoints()[0]["id"] == "step-24" and ws.read_checkpoints()[0]["step"] == 24

    files = [_samples(root, "out", "pc_gen"), _samples(root, "out2", "pc_gen")]
    gen = import_lmeval(ws, files)["pc_gen"].set_index("lmeval_doc_hash")
    per_doc: dict[str, list[float]] = {}
    for f in files:
        for _, r in read_jsonl(f):
            per_doc.setdefault(r["doc_hash"], []).append(r["exact_match"])
    assert len(gen) == N_GEN and (gen["n"] == 2).all()
    for h, scores in per_doc.items():
        assert gen.loc[h, "c"] == sum(scores) and gen.loc[h, "pass1"] == pytest.approx(sum(scores) / 2)


def test_probecast_loglik_labels_match_lmeval_on_the_same_jsonl_task(lmeval_run):
    from probecast.checkpoints.discover import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.labels.backend import HFBackend
    from probecast.labels.label import LabelConfig, label_task
    from probecast.tasks.loaders import load_jsonl_task, read_jsonl

    root, ckpt = lmeval_run
    task = load_jsonl_task(root / "mc.jsonl")
    model, tok = load_model(discover_checkpoints(ckpt)[0])
    ours, _ = label_task(HFBackend(model, tok), task, LabelConfig(), "step-24", 24)
    theirs = sorted((r for _, r in read_jsonl(_samples(root, "out", "pc_mc"))), key=lambda r: r["doc_id"])
    for row, r in zip(ours.itertuples(), theirs):
        lls = [float(x[0]) for x in r["filtered_resps"]]
        assert task.prompt(task.questions[r["doc_id"]]) == r["arguments"]["gen_args_0"]["arg_0"]
        assert row.c == r["acc"], (row.question_id, lls)


def test_gsm8k_and_piqa_prompts_are_lmeval_prompts(lmeval_run):
    from probecast.tasks.loaders import read_jsonl
    from probecast.tasks.registry import load_tasks

    root, _ = lmeval_run
    if not list((root / "out").glob("*/samples_gsm8k_local_*.jsonl")):
        pytest.skip("../shared/data/benchmarks (gsm8k, piqa) is absent")
    gsm, piqa = load_tasks("gsm8k,piqa", limit=N_MC)
    for r in (r for _, r in read_jsonl(_samples(root, "out", "gsm8k_local"))):
        args = r["arguments"]["gen_args_0"]
        assert args["arg_0"] == gsm.prompt(gsm.questions[r["doc_id"]])
        assert set(args["arg_1"]["until"]) == set(gsm.stop)
    for r in (r for _, r in read_jsonl(_samples(root, "out", "piqa_local"))):
        q = piqa.questions[r["doc_id"]]
        got = [(a["arg_0"], a["arg_1"]) for a in r["arguments"].values()]
        assert got == [(piqa.prompt(q), piqa.template.choice_prefix + c) for c in q.choices]
        assert int(r["target"]) == q.gold


def test_results_json_of_a_sweep_reaches_the_forecast_long_table(lmeval_run):
    """Two checkpoints of one run (step-8, step-24) → one run in the long table, values = lm-eval's."""
    from probecast.forecast.adapters import read_lm_eval_files

    root, _ = lmeval_run
    files = [next((root / sub).glob("*/results_*.json")) for sub in ("out3", "out")]
    table = read_lm_eval_files(files, run=None)
    acc = table[table["metric"] == "acc/pc_mc"].sort_values("step")
    assert acc["step"].tolist() == [8, 24]
    expected = [json.loads(f.read_text())["results"]["pc_mc"]["acc,none"] for f in files]
    assert acc["value"].tolist() == pytest.approx(expected)
    assert acc["run"].nunique() == 1, f"one training run, got run names {acc['run'].tolist()}"
    assert not table["metric"].str.startswith("sample_len").any(), "sample counts are not metrics"
