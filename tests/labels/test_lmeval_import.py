"""lm-eval `--log_samples` import on records in lm-eval 0.4's format (the real-run test is test_lmeval_real.py)."""

from __future__ import annotations

import json

import pytest

from probecast.errors import ProbecastError
from probecast.labels.lmeval import contexts, import_lmeval, read_samples, samples_to_labels, task_of_file
from probecast.tasks.loaders import load_jsonl_task
from probecast.workspace import Workspace


def mc_record(doc_id, question, choices, acc, filt="none"):
    args = {f"gen_args_{i}": {"arg_0": f"Question: {question}\nAnswer:", "arg_1": f" {c}"} for i, c in enumerate(choices)}
    return {"doc_id": doc_id, "doc": {"question": question, "choices": choices}, "target": "0", "arguments": args,
            "resps": [[["-1.0", "False"]]] * len(choices), "filtered_resps": [["-1.0", "False"]] * len(choices),
            "filter": filt, "metrics": ["acc", "acc_norm"], "doc_hash": f"{doc_id:064x}",
            "prompt_hash": "p", "target_hash": "t", "acc": acc, "acc_norm": 1.0 - acc}


def gen_record(doc_id, prompt, completion, em, filt="none"):
    return {"doc_id": doc_id, "doc": {"question": prompt}, "target": "x",
            "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {"until": ["\n"]}}}, "resps": [[completion]],
            "filtered_resps": [completion], "filter": filt, "metrics": ["exact_match"],
            "doc_hash": f"{1000 + doc_id:064x}", "prompt_hash": "p", "target_hash": "t", "exact_match": em}


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_file_name_and_arguments_formats(tmp_path):
    assert task_of_file(tmp_path / "samples_gsm8k_cot_2026-01-02T03-04-05.678901.jsonl") == "gsm8k_cot"
    with pytest.raises(ProbecastError, match="not an lm-eval samples file"):
        task_of_file(tmp_path / "results.jsonl")
    assert contexts({"arguments": [["ctx", " a"], ["ctx", " b"]]}) == [("ctx", " a"), ("ctx", " b")]
    assert contexts(gen_record(0, "1+1=", "2", 1.0)) == [("1+1=", None)]


def test_multiple_choice_rows_follow_the_labels_schema(tmp_path):
    f = write(tmp_path / "samples_mc_2026-01-01T00-00-00.0.jsonl",
              [mc_record(0, "a?", ["x", "y"], 1.0), mc_record(1, "b?", ["x", "y"], 0.0)])
    df = samples_to_labels(read_samples([f])["mc"], "mc", "step-5", 5)
    assert df["question_id"].tolist() == [f"{0:064x}"[:16], f"{1:064x}"[:16]]
    assert df[["n", "c", "pass1", "sample_correct", "greedy_correct", "acc_norm"]].values.tolist() == [
        [1, 1, 1.0, 1.0, 1.0, 0.0], [1, 0, 0.0, 0.0, 0.0, 1.0]]
    assert (df["step"] == 5).all() and (df["checkpoint"] == "step-5").all()
    assert {"completions", "k", "pass_at_k", "difficulty", "domain"} <= set(df.columns)


def test_repeats_across_files_give_n_and_c(tmp_path):
    a = write(tmp_path / "samples_g_2026-01-01T00-00-00.0.jsonl",
              [gen_record(0, "1+1=", "2", 1.0), gen_record(1, "2+2=", "5", 0.0)])
    b = write(tmp_path / "samples_g_2026-01-02T00-00-00.0.jsonl",
              [gen_record(0, "1+1=", "3", 0.0), gen_record(1, "2+2=", "4", 1.0)])
    c = write(tmp_path / "samples_g_2026-01-03T00-00-00.0.jsonl",
              [gen_record(0, "1+1=", "2", 1.0), gen_record(1, "2+2=", "4", 1.0)])
    df = samples_to_labels(read_samples([a, b, c])["g"], "g", "ck", None)
    assert df["n"].tolist() == [3, 3] and df["c"].tolist() == [2, 2]
    assert df["pass1"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert df["sample_correct"].tolist() == [1.0, 0.0]  # the first file's attempt
    assert df["completions"].tolist()[0] == ["2", "3", "2"] and df["step"].tolist() == [-1, -1]


def test_filter_and_metric_choice(tmp_path):
    recs = [gen_record(0, "q", "7", 1.0, "strict-match"), gen_record(0, "q", "7", 0.0, "flexible-extract")]
    f = write(tmp_path / "samples_gsm_2026-01-01T00-00-00.0.jsonl", recs)
    assert read_samples([f])["gsm"][0]["_score"] == 1.0  # first filter in the file
    assert read_samples([f], filter_name="flexible-extract")["gsm"][0]["_score"] == 0.0
    with pytest.raises(ProbecastError, match="no records with filter 'nope'.*strict-match"):
        read_samples([f], filter_name="nope")
    with pytest.raises(ProbecastError, match="no metric 'bleu'"):
        read_samples([f], metric="bleu")
    bad = write(tmp_path / "samples_b_2026-01-01T00-00-00.0.jsonl", [{**gen_record(0, "q", "7", 1.0), "exact_match": 3.5}])
    with pytest.raises(ProbecastError, match="not a per-sample correctness"):
        read_samples([bad])


def test_ids_map_onto_a_probecast_task_by_prompt(tmp_path):
    task_file = tmp_path / "colors.jsonl"
    task_file.write_text("".join(json.dumps({"question": q, "choices": ["x", "y"], "answer": 0}) + "\n"
                                 for q in ("a?", "b?")))
    task = load_jsonl_task(task_file)
    f = write(tmp_path / "samples_pc_mc_2026-01-01T00-00-00.0.jsonl",
              [mc_record(1, "b?", ["x", "y"], 0.0), mc_record(0, "a?", ["x", "y"], 1.0)])
    res = tmp_path / "results_2026-01-01T00-00-00.0.json"
    res.write_text(json.dumps({"config": {"model_args": "pretrained=/runs/ft/step-150,dtype=float32"}}))
    ws = Workspace(tmp_path / "ws")
    tables = import_lmeval(ws, [f], tasks=[task])
    df = tables["colors"]
    assert df["question_id"].tolist() == [q.id for q in task.questions] and df["c"].tolist() == [1, 0]
    assert ws.labels_path("step-150", "colors").exists()
    assert ws.read_checkpoints() == [{"id": "step-150", "path": "/runs/ft/step-150", "step": 150}]
    import_lmeval(ws, [f], checkpoint="final", tasks=[task])  # an id given: the path is still the results file's
    assert ws.read_checkpoints()[-1] == {"id": "final", "path": "/runs/ft/step-150"}
    other = write(tmp_path / "samples_x_2026-01-01T00-00-00.0.jsonl", [mc_record(0, "zzz?", ["x", "y"], 1.0)])
    with pytest.raises(ProbecastError, match="matches no question of probecast task 'colors'"):
        import_lmeval(ws, [other], checkpoint="c", tasks=[task])
    (tmp_path / "sub").mkdir()
    lone = write(tmp_path / "sub" / "samples_y_2026-01-01T00-00-00.0.jsonl", [mc_record(0, "a?", ["x", "y"], 1.0)])
    with pytest.raises(ProbecastError, match="give --checkpoint"):
        import_lmeval(ws, [lone])
