"""End to end, in CI: `probecast demo --model smollm2 --quick` on the fetched real model (skipped when absent)."""

import json
import math

from probecast.workspace import Workspace
from test_demos_e2e import run_cli


def test_real_quick_demo_end_to_end(smollm2, shared_data, tmp_path):
    out = tmp_path / "real"
    run_cli("demo", "--model", "smollm2", "--quick", "--out", str(out))
    s = json.loads((out / "summary.json").read_text())
    for key in ("checkpoints", "train_checkpoints", "test_checkpoints", "probes", "baselines", "latency_s",
                "in_checkpoint", "demo"):
        assert key in s, key
    mv = s["demo"]["movement"]
    assert mv["n_checkpoints"] == len(s["checkpoints"]) >= 3
    assert {"tasks_rising_0.2", "flipped_fraction", "best_minus_worst"} <= set(mv)
    assert 0 <= mv["flipped_fraction"] <= 1 and 0 <= mv["best_minus_worst"] <= 1
    assert set(mv["pass1_by_task"]) == set(s["tasks"]) >= {"add", "weekday", "list_last", "piqa", "gsm8k"}
    ic = s["in_checkpoint"]["methods"]
    assert {"linear", "text_difficulty", "answer_loglik"} <= set(ic)
    assert ic["linear"]["inputs"] == ["hidden"] and ic["text_difficulty"]["inputs"] == ["text"]
    assert "carry_forward" not in ic
    for name, m in {**s["probes"], **s["baselines"]}.items():
        assert m["inputs"], name
    assert s["probes"]["hybrid"]["inputs"] == ["hidden", "answer_loglik"]
    # the pure hidden-state probes read the reference answer's states (RealDemoConfig.hidden_pooling), in both protocols
    assert s["evaluation_settings"]["probe_params"]["ridge"] == {"pooling": "answer"}
    # in-checkpoint: the prompt's last token and the answer's states, on PIQA the gold solution's against the other's
    assert s["in_checkpoint"]["protocol"]["params"]["ridge_layers"]["pooling"] == "last_contrast"
    vote = s["in_checkpoint"]["protocol"]["params"]["vote"]["params"]  # its members: each as when run alone
    assert vote["linear"]["pooling"] == "last_contrast" and "pooling" not in vote["by_format"]
    assert ic["vote"]["inputs"] == ["hidden"] and math.isfinite(ic["vote"]["auroc_mean"])
    from probecast.features.store import load_features

    last = max(Workspace(out, create=False).read_checkpoints(), key=lambda r: r["step"])["id"]
    piqa = load_features(Workspace(out, create=False), last, "piqa")
    assert piqa.hidden_others is not None and piqa.hidden_others.shape == piqa.hidden_answer.shape
    assert not (piqa.hidden_others == piqa.hidden_answer).all()
    assert json.loads((out / "probes" / "ridge" / "config.json").read_text())["reads"]["pooling"] == "answer"
    assert s["probes"]["ridge"]["inputs"] == ["hidden"]
    # earlier→later runs the in-checkpoint picks too, the vote's members with this protocol's parameters
    assert {"ridge_layers", "by_format", "vote"} <= set(s["probes"]) and s["probes"]["vote"]["inputs"] == ["hidden"]
    assert s["evaluation_settings"]["probe_params"]["vote"]["params"]["ridge"] == {"pooling": "answer"}
    assert all(math.isfinite(v) for v in s["demo"]["movement"]["gain_by_task"].values())
    stages = s["demo"]["stage_seconds"]
    assert list(stages) == ["setup", "finetune", "labels", "features", "evaluate", "in_checkpoint", "latency"]
    assert all(v >= 0 for v in stages.values()) and sum(stages.values()) <= s["demo"]["wall_time_s"] + 0.5
    import transformers

    assert s["demo"]["versions"]["transformers"] == transformers.__version__  # the sampled labels depend on it
    # GSM8K is sampled with its own count (--quick: 5; the skills 4)

    n = Workspace(out, create=False).read_labels().groupby("task")["n"].unique()
    assert list(n["gsm8k"]) == [5] == [s["demo"]["samples_by_task"]["gsm8k"]] and list(n["add"]) == [4]
    # the blocks top-K fine-tuning never touches are computed once, and later checkpoints replay from them
    from probecast.features.store import read_features_metadata

    ws = Workspace(out, create=False)
    ids = [r["id"] for r in sorted(ws.read_checkpoints(), key=lambda r: r["step"])]
    how = [json.loads(read_features_metadata(ws, c, "add").get("shared_prefix", "null")) for c in ids]
    assert how[0] is None and how[1]["states"] == "kept"
    assert all(h == {"hidden_states": how[1]["hidden_states"], "states": "replayed"} for h in how[2:])
    # test questions are never in the fine-tuning data
    train_text = "".join(p.read_text() for p in (out / "tasks").glob("*.train.jsonl"))
    for name in ("add", "weekday", "list_last"):
        lines = (out / "tasks" / f"{name}.jsonl").read_text().splitlines()[1:]
        assert all(json.dumps(json.loads(x)["question"]) not in train_text for x in lines)

    # the dev question set on the same run (benchmarks/real_dev_set.py): new questions, none of the demo's test or
    # fine-tuning texts, labelled and extracted on every checkpoint, the in-checkpoint protocol run on them
    from benchmark_module import load_benchmark

    dev_set = load_benchmark("real_dev_set")
    # (PIQA 22-27: the base model gets some wrong, so an AUROC exists even where a quick run learns no skill)
    res = dev_set.main(["--demo", str(out), "--out", str(tmp_path / "dev"), "--questions", "6", "--piqa", "6",
                        "--piqa-offset", "22", "--compare", "ridge,ridge:task_intercepts=true", "--seeds", "1",
                        "--folds", "2"])
    used = train_text + "".join((out / "tasks" / f"{n}.jsonl").read_text() for n in ("add", "weekday", "list_last"))
    for name in ("add", "weekday", "list_last"):
        lines = (tmp_path / "dev" / "dev_tasks" / f"{name}.jsonl").read_text().splitlines()[1:]
        assert len(lines) == 6 and all(json.dumps(json.loads(x)["question"]) not in used for x in lines)
    assert set(res) == {"ridge", "ridge:task_intercepts=true"}
    assert all(math.isfinite(r["auroc_mean"]) for r in res.values())
    # --questions 0: PIQA alone (how the contrast pooling was chosen)
    assert dev_set.main(["--demo", str(out), "--out", str(tmp_path / "devp"), "--questions", "0", "--piqa", "6",
                         "--piqa-offset", "16"]) == {}
    assert {t for t, _ in Workspace(tmp_path / "devp", create=False).read_labels().groupby("task")} == {"piqa"}
