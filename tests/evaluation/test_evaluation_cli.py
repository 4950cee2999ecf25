import json

import numpy as np
import pandas as pd
import pytest

from probecast.cli import main
from probes_synthdata import planted, write_workspace


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory):
    fs, y, p_true = planted(n_questions=60, steps=(100, 200, 400, 800), tasks=("a", "b"), tail_len=3, seed=0)
    root = tmp_path_factory.mktemp("ws")
    write_workspace(root, fs, y)
    return root


def test_cli_evaluate_fit_predict(ws_dir, capsys):
    main(["evaluate", "--ws", str(ws_dir), "--param", "mlp.max_epochs=10", "--param", "attn_layers.max_epochs=10",
          "--param", "attn_tokens.max_epochs=10"])
    out = capsys.readouterr().out
    assert "AUROC" in out and "hybrid" in out
    s = json.loads((ws_dir / "summary.json").read_text())
    per_task = out[out.index("AUROC per task"):]  # every method's AUROC on every task is printed
    assert all(f"{s['probes']['hybrid']['auroc_by_task'][t]:.2f}" in per_task for t in s["tasks"])
    assert s["test_checkpoints"] == [400, 800] and "training_loss" in s["baselines"]
    assert s["multistep"]["tasks"] == ["b"]
    assert (ws_dir / "evaluation" / "task_scores.png").stat().st_size > 1000
    best = s["best_probe"]

    main(["predict", "--ws", str(ws_dir), "--probe", best, "--checkpoint", "step800"])
    out = capsys.readouterr().out
    assert "step800" in out and "predicted" in out
    pred = pd.read_parquet(ws_dir / "predictions" / best / "step800" / "a.parquet")
    assert len(pred) == 60 and pred["p_success"].between(0, 1).all()

    main(["fit", "--ws", str(ws_dir), "--probe", "linear", "--name", "lin_all", "--param", "layer=2",
          "--checkpoints", "step100,step200"])
    assert "layer 2" in capsys.readouterr().out
    assert (ws_dir / "probes" / "lin_all" / "weights.safetensors").exists()


def test_cli_errors_are_one_line(ws_dir, capsys):
    with pytest.raises(SystemExit) as e:
        main(["predict", "--ws", str(ws_dir), "--probe", "nope"])
    assert e.value.code == 2 and "no fitted probe" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["fit", "--ws", str(ws_dir), "--probe", "linear", "--checkpoints", "stepX"])
    assert e.value.code == 2 and "no features for ['stepX']" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--ws", str(ws_dir), "--n-train", "4"])
    assert e.value.code == 2


def test_predict_reuses_files_of_the_same_probe_only(ws_dir, capsys):
    main(["fit", "--ws", str(ws_dir), "--probe", "ridge", "--name", "r", "--param", "layer=1"])
    main(["predict", "--ws", str(ws_dir), "--probe", "r", "--checkpoint", "step400", "--tasks", "a"])
    path = ws_dir / "predictions" / "r" / "step400" / "a.parquet"
    first, mtime = pd.read_parquet(path), path.stat().st_mtime_ns
    main(["predict", "--ws", str(ws_dir), "--probe", "r", "--checkpoint", "step400", "--tasks", "a"])
    assert path.stat().st_mtime_ns == mtime  # same fitted probe: reused
    main(["fit", "--ws", str(ws_dir), "--probe", "ridge", "--name", "r", "--param", "layer=0", "--force"])  # another layer: --force
    main(["predict", "--ws", str(ws_dir), "--probe", "r", "--checkpoint", "step400", "--tasks", "a"])
    assert not np.allclose(pd.read_parquet(path)["p_success"], first["p_success"])  # refitted: recomputed
    capsys.readouterr()


def test_training_history_is_the_held_out_questions_at_training_checkpoints():
    """The plot's grey curve: actual score of exactly the evaluated questions, at the training steps only."""
    from probecast.evaluation.evaluate import EvalResult
    from probecast.evaluation.pipeline import training_history

    labels = pd.DataFrame({"task": ["a"] * 6, "question_id": ["q1", "q2", "q3"] * 2, "step": [100] * 3 + [400] * 3,
                           "pass1": [0.0, 0.5, 1.0, 1.0, 1.0, 1.0]})
    rows = pd.DataFrame({"task": ["a", "a"], "question_id": ["q1", "q2"], "step": [400, 400]})
    result = EvalResult(summary={"train_checkpoints": [100]}, rows=rows, table=pd.DataFrame())
    h = training_history(labels, result)
    assert h.to_dict("records") == [{"task": "a", "step": 100, "true_score": 0.25}]  # q3 was a training question


def test_cli_evaluate_in_checkpoint_writes_its_block_and_keeps_the_rest(ws_dir, capsys):
    summary = ws_dir / "summary.json"
    before = json.loads(summary.read_text()) if summary.exists() else {}
    main(["evaluate-in-checkpoint", "--ws", str(ws_dir), "--folds", "3", "--methods", "ridge,answer_loglik,logit_lens,"
          "carry_forward", "--param", "ridge.l2_grid=[1,100]"])
    out = capsys.readouterr().out
    s = json.loads(summary.read_text())
    ic = s["in_checkpoint"]
    assert set(ic["methods"]) == {"ridge", "answer_loglik"} and ic["methods"]["ridge"]["inputs"] == ["hidden"]
    assert ic["methods"]["ridge"]["auroc_mean"] > 0.7  # the planted layer, found inside each checkpoint
    assert ic["protocol"]["params"]["ridge"] == {"cv": "question", "l2_grid": [1, 100]}  # the default, updated
    assert "logit_lens" in ic["protocol"]["unavailable"] and ic["protocol"]["skipped"] == ["carry_forward"]
    assert len(ic["methods"]["ridge"]["auroc_ci"]) == 2 and ic["protocol"]["n_folds"] == 3
    assert all(s[k] == v for k, v in before.items() if k != "in_checkpoint")  # the earlier evaluation is kept
    assert "in-checkpoint: 3 question folds" in out and "skipped logit_lens" in out
    main(["evaluate-in-checkpoint", "--ws", str(ws_dir), "--folds", "3", "--methods", "ridge", "--repeats", "2"])
    two = json.loads(summary.read_text())["in_checkpoint"]
    assert two["protocol"]["repeats"] == 2 and "x 2 fold draws" in capsys.readouterr().out
    assert two["methods"]["ridge"]["auroc_mean"] != ic["methods"]["ridge"]["auroc_mean"]  # another fold draw added
    assert two["protocol"]["params"]["ridge"]["l2_grid"] == [1, 100]  # --param left out: the recorded ones, reproduced


@pytest.mark.parametrize("args, expect", [
    (["--methods", "ridge,nosuch"], "nosuch"),
    (["--methods", "ridge", "--param", "linear.layer=1"], "--param names ['linear']"),
])
def test_cli_evaluate_in_checkpoint_bad_options_are_one_line_and_exit_2(ws_dir, capsys, args, expect):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate-in-checkpoint", "--ws", str(ws_dir), *args])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and expect in err and len(err.splitlines()) == 1
