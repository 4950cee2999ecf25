import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from probecast.errors import ProbecastError
from probecast.forecast.table import LONG_COLUMNS, load_runs, parse_params, validate_long_table

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "checkpoint-evals"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"public runs not found at {DATA} (../shared/data)")


def long_rows(**over):
    row = dict(run="r", step=10, tokens=1e9, flops=6e17, params=1e8, metric="acc/toy", value=0.5)
    row.update(over)
    return row


def test_validate_normalises_and_sorts():
    df = pd.DataFrame([long_rows(step=20), long_rows(step=10, value=np.nan), long_rows(step=5)])
    out = validate_long_table(df, "t")
    assert list(out.columns) == LONG_COLUMNS and list(out["step"]) == [5, 20]


@pytest.mark.parametrize("bad, message", [
    (lambda d: d.drop(columns=["flops"]), "missing column.*flops"),
    (lambda d: d.assign(tokens=0.0), "non-positive tokens"),
    (lambda d: d.assign(flops=-1.0), "non-positive flops"),
    (lambda d: d.assign(value="x"), "non-numeric"),
    (lambda d: d.assign(step=-1), "non-negative integers"),
    (lambda d: pd.concat([d, d]), "more than once"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_bad_tables_get_clear_errors(bad, message):
    df = pd.DataFrame([long_rows(), long_rows(step=20)])
    with pytest.raises(ProbecastError, match=message) as err:
        validate_long_table(bad(df), "my.csv")
    assert "my.csv" in str(err.value)


def test_parse_params():
    assert parse_params(["190M=190354176", "1B=1.3B"]) == {"190M": 190354176.0, "1B": 1.3e9}
    with pytest.raises(ProbecastError, match="expected NAME=COUNT"):  # not parse_count's error on an empty count
        parse_params(["nonsense"])


def write_olmo_csv(path: Path, steps=(100, 200)) -> None:
    pd.DataFrame({
        "_step": steps, "throughput/total_tokens": [s * 1e6 for s in steps],
        "throughput/total_training_Gflops": [s * 1e6 * 2.0 for s in steps],
        "eval/c4_en-validation/CrossEntropyLoss": [3.5, 3.2],
        "eval/downstream_bpb/piqa_val_rc_5shot_bpb": [1.0, 0.9],
        "eval/downstream/piqa_val_rc_5shot_len_norm": [0.6, 0.65],
        "eval/downstream/piqa_val_rc_5shot_acc": [0.55, 0.6],
        "eval/downstream/boolq_val_rc_5shot_acc": [0.5, 0.55],
        "eval/downstream/arc_easy_test_rc_5shot_len_norm": [0.1, 0.1],
    }).to_csv(path, index=False)


def test_olmo_csv_adapter(tmp_path):
    write_olmo_csv(tmp_path / "190M-1xC.csv")
    df = load_runs([tmp_path])
    got = df[df["step"] == 200].set_index("metric")["value"].to_dict()
    assert got == {"acc/boolq": 0.55, "acc/piqa": 0.65, "bpb/piqa": 0.9, "loss/c4_en": 3.2}  # len_norm; no test split
    row = df.iloc[0]
    assert row["run"] == "190M-1xC" and row["params"] == 190_354_176 and row["flops"] == pytest.approx(row["tokens"] * 2e9)


def test_pythia_folder_adapter(tmp_path):
    root = tmp_path / "pythia"
    (root / "pythia-70m" / "zero-shot").mkdir(parents=True)
    (root / "pythia-70m" / "five-shot").mkdir(parents=True)
    (root / "MODELS.md").write_text("| Params | n_layers | d_model |\n| --- | --- | --- |\n| 70M | 6 | 512 |\n")
    for step, acc in [(0, 0.25), (1000, 0.3), (3000, 0.4)]:
        obj = {"results": {"arc_easy": {"acc": acc, "acc_stderr": 0.01, "acc_norm": acc - 0.01},
                           "lambada_openai": {"ppl": 100.0, "acc": acc / 2}}}
        (root / "pythia-70m" / "zero-shot" / f"70m_step{step}.json").write_text(json.dumps(obj))
        (root / "pythia-70m" / "five-shot" / f"70m-5shot_step{step}.json").write_text(json.dumps(obj))
    df = load_runs([root])
    assert set(df["run"]) == {"pythia-70m"} and sorted(df["step"].unique()) == [1000, 3000]  # step 0 dropped
    assert {"acc/arc_easy", "acc_norm/arc_easy", "ppl/lambada_openai"} <= set(df["metric"])
    assert df["tokens"].min() == 1000 * 2_097_152 and df["params"].iloc[0] == 12 * 6 * 512 ** 2
    both = load_runs([root], shots="all")
    assert set(both["run"]) == {"pythia-70m", "pythia-70m-5shot"}


def test_lm_eval_results_sweep(tmp_path):
    for step, acc in [(100, 0.3), (200, 0.4)]:
        folder = tmp_path / "sweep" / f"step{step}"
        folder.mkdir(parents=True)
        obj = {"results": {"piqa": {"alias": "piqa", "acc,none": acc, "acc_stderr,none": 0.01},
                           "gsm8k": {"exact_match,strict-match": acc / 3}},
               "config": {"model_args": "pretrained=org/my-model"}}
        (folder / "results_2024-01-01.json").write_text(json.dumps(obj))
    df = load_runs([tmp_path / "sweep"], tokens_per_step=1e6)
    assert set(df["run"]) == {"sweep"} and sorted(df["step"].unique()) == [100, 200]
    assert {"acc/piqa", "exact_match:strict-match/gsm8k"} == set(df["metric"])
    assert df["tokens"].max() == 2e8
    # a sidecar gives the step and compute when the name does not
    single = tmp_path / "res.json"
    single.write_text(json.dumps({"results": {"piqa": {"acc,none": 0.5}}, "config": {"model_args": "pretrained=x/m"}}))
    (tmp_path / "res.json.meta.json").write_text(json.dumps({"step": 7, "tokens": 1e9, "flops": 1e18, "params": 1e8}))
    one = load_runs([single])
    assert one.iloc[0][["run", "step", "tokens", "flops"]].tolist() == ["m", 7, 1e9, 1e18]
    (tmp_path / "res.json.meta.json").unlink()
    with pytest.raises(ProbecastError, match="step"):
        load_runs([single])


def test_long_table_files_and_params_override(tmp_path):
    df = pd.DataFrame([long_rows(run="small-a"), long_rows(run="small-a", step=20), long_rows(run="big", step=5)])
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    out = load_runs([tmp_path / "t.csv"], params={"small": 5e7})
    assert out.groupby("run")["params"].first().to_dict() == {"big": 1e8, "small-a": 5e7}
    assert len(load_runs([tmp_path / "t.parquet"])) == 3
    df.drop(columns=["tokens"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ProbecastError, match="bad.csv.*missing column"):
        load_runs([tmp_path / "bad.csv"])


def test_workspace_adapter(tmp_path):
    from probecast.workspace import Workspace

    ws = Workspace(tmp_path / "myrun")
    ws.add_checkpoints([{"id": "ck-100", "path": "x", "step": 100, "tokens": 1e8, "flops": 6e15, "params": 1e7},
                        {"id": "ck-200", "path": "y", "step": 200, "tokens": 2e8, "flops": 1.2e16, "params": 1e7}])
    for ckpt, p in [("ck-100", [0.0, 1.0, 0.5]), ("ck-200", [1.0, 1.0, 0.5])]:
        labels = pd.DataFrame({"checkpoint": ckpt, "task": "gsm8k", "question_id": ["a", "b", "c"], "pass1": p})
        ws.write_labels(ckpt, "gsm8k", labels, {})
    pred = pd.DataFrame({"checkpoint": "ck-200", "step": 200, "task": "gsm8k", "question_id": ["a", "b"],
                         "p_success": [0.2, 0.4]})
    path = ws.predictions_path("ck-200", "gsm8k", "ridge")
    path.parent.mkdir(parents=True)
    pred.to_parquet(path)
    df = load_runs([ws.root])
    acc = df[df["metric"] == "acc/gsm8k"]
    assert acc.set_index("step")["value"].to_dict() == pytest.approx({100: 0.5, 200: 2.5 / 3})
    assert df[df["metric"] == "pred/ridge/gsm8k"]["value"].tolist() == pytest.approx([0.3])
    assert set(df["run"]) == {"myrun"} and df["flops"].max() == 1.2e16


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ProbecastError, match="no such file"):
        load_runs([tmp_path / "nope"])


@needs_data
def test_real_olmo_and_pythia_load():
    olmo = load_runs([DATA / "olmo-ladder" / "1B-10xC.csv"])
    assert {"acc/hellaswag", "acc/boolq", "bpb/hellaswag", "loss/c4_en"} <= set(olmo["metric"])
    assert olmo["flops"].max() / olmo["tokens"].max() == pytest.approx(10_109_071_360)
    pythia = load_runs([DATA / "pythia" / "pythia-410m"])
    assert pythia["step"].max() == 143000 and pythia["tokens"].max() == 143000 * 2_097_152
