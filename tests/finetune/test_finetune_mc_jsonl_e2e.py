"""A benchmark shipped as a new multiple-choice JSONL file ({question, choices, answer}) runs through label →
extract → fit → evaluate → predict from the CLI with no code change."""

from __future__ import annotations

import json
import random

import pandas as pd

from probecast.cli import main


def test_new_mc_jsonl_task_end_to_end(tiny_run, tmp_path, capsys):
    from probecast.tasks.synthetic import COLORS, SyntheticSuite

    rng = random.Random(1)
    task_file = tmp_path / "my_colors.jsonl"
    with task_file.open("w") as f:
        for i, q in enumerate(SyntheticSuite().task("color").subset(24).questions):
            choices = rng.sample([c for c in COLORS if c != q.answers[0]], 2)
            gold = rng.randrange(3)
            choices.insert(gold, q.answers[0])
            row = {"question": q.text, "choices": choices, "answer": gold, "id": f"c{i:02d}"}
            if i % 2:
                row["context"] = "colors of the world"
            f.write(json.dumps(row) + "\n")
    ws = tmp_path / "ws"
    main(["label", str(tiny_run), "--ws", str(ws), "--tasks", str(task_file), "--threads", "1"])
    main(["extract", "--ws", str(ws), "--tail-tokens", "4", "--threads", "1"])
    labels = pd.read_parquet(ws / "labels" / "step-24" / "my_colors.parquet")
    assert len(labels) == 24 and labels["question_id"].iloc[0] == "c00" and (labels["n"] == 1).all()
    assert set(labels["c"]) <= {0, 1} and labels["acc_norm"].between(0, 1).all()
    main(["fit", "--ws", str(ws), "--probe", "linear", "--checkpoints", "step-1,step-8"])
    main(["evaluate", "--ws", str(ws), "--n-train", "2", "--probes", "linear",
          "--baselines", "carry_forward"])
    summary = json.loads((ws / "summary.json").read_text())
    assert summary["tasks"] == ["my_colors"] and summary["test_checkpoints"] == [24]
    assert set(summary["probes"]) == {"linear"} and "carry_forward" in summary["baselines"]
    main(["predict", "--ws", str(ws), "--probe", "linear", "--checkpoint", "step-24"])
    out = capsys.readouterr().out
    assert "my_colors" in out
