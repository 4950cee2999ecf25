"""The per-question table of COD: clear errors for bad tables, and workspaces read as one model each."""

import json

import numpy as np
import pandas as pd
import pytest

from probecast.errors import ProbecastError
from probecast.forecast.cod.data import QUESTION_COLUMNS, load_questions, question_matrix, validate_question_table
from probecast.forecast.cod.synthetic import PlantedSeries


@pytest.fixture
def table():
    df, _ = PlantedSeries(sizes=[20, 20, 20, 20], compute=[1e17, 2e17, 4e17, 8e17]).rows()
    return df


def test_good_table_pivots_to_a_sorted_matrix(table):
    m = question_matrix(validate_question_table(table.sample(frac=1, random_state=0), "t"), "synthetic")
    assert m.models == ["m0", "m1", "m2", "m3"]
    assert np.all(np.diff(m.compute) > 0)
    assert m.pass_rate.shape == (80, 4)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.drop(columns=["c"]), "missing column"),
    (lambda d: d.assign(c=d["n"] + 1), "outside"),
    (lambda d: d.assign(n=0), "n must be >= 1"),
    (lambda d: d.assign(c=0.5), "whole numbers"),
    (lambda d: d.assign(flops=-1.0), "no positive compute"),
    (lambda d: d.assign(flops="lots"), "non-numeric"),
    (lambda d: pd.concat([d, d.iloc[:1]]), "more than once"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_bad_tables_get_clear_errors(table, mutate, message):
    with pytest.raises(ProbecastError, match=message):
        validate_question_table(mutate(table), "bad.csv")


def test_flops_default_to_6nd(table):
    df = table.assign(flops=np.nan, params=1e6, tokens=table["flops"] / 6e6)
    out = validate_question_table(df, "t")
    assert np.allclose(out["flops"], table["flops"])


def test_matrix_errors(table):
    df = validate_question_table(table, "t")
    with pytest.raises(ProbecastError, match="tasks present: synthetic"):
        question_matrix(df, "gsm8k")
    with pytest.raises(ProbecastError, match="at least 3 models"):
        question_matrix(df[df["model"].isin(["m0", "m1"])], "synthetic")


def test_csv_and_bad_files(tmp_path, table):
    path = tmp_path / "q.csv"
    table.to_csv(path, index=False)
    assert len(load_questions([path], "synthetic")) == len(table)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ProbecastError, match="unsupported file type"):
        load_questions([tmp_path / "bad.json"], "synthetic")
    with pytest.raises(ProbecastError, match="no such file"):
        load_questions([tmp_path / "missing.csv"], "synthetic")


def make_workspace(root, table, model, steps=(100, 200)):
    """A minimal workspace: checkpoints.json + labels of `model`'s rows (same labels at every step)."""
    rows = table[table["model"] == model]
    records = []
    for step in steps:
        ckpt = f"step{step}"
        flops = float(rows["flops"].iloc[0]) * step / steps[-1]
        records.append({"id": ckpt, "path": str(root / ckpt), "step": step, "tokens": 1e6 * step,
                        "flops": flops, "params": 1e6})
        labels = rows[["question_id", "n", "c"]].assign(checkpoint=ckpt, step=step, task="synthetic")
        (root / "labels" / ckpt).mkdir(parents=True, exist_ok=True)
        labels.to_parquet(root / "labels" / ckpt / "synthetic.parquet")
    (root / "checkpoints.json").write_text(json.dumps(records))
    return root


def test_workspaces_are_one_model_each_from_their_final_checkpoint(tmp_path, table):
    paths = [make_workspace(tmp_path / m, table, m) for m in ["m0", "m1", "m2"]]
    df = load_questions(paths, "synthetic")
    assert sorted(df["model"].unique()) == ["m0", "m1", "m2"]
    assert np.allclose(sorted(df.groupby("model")["flops"].first()), sorted(table.groupby("model")["flops"].first())[:3])
    every = load_questions(paths, "synthetic", points="all")
    assert every["model"].nunique() == 6
    with pytest.raises(ProbecastError, match="no labels for task"):
        load_questions(paths, "gsm8k")
    with pytest.raises(ProbecastError, match="not a workspace"):
        load_questions([tmp_path], "synthetic")


def test_documented_columns():
    assert QUESTION_COLUMNS == ["model", "params", "tokens", "flops", "task", "question_id", "n", "c"]
