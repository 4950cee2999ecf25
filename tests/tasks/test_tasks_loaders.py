import json

import pytest

from probecast.errors import ProbecastError
from probecast.tasks import load_tasks
from probecast.tasks.loaders import load_jsonl_task


def write(path, lines):
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    return path


def test_generative_jsonl_with_header(tmp_path):
    f = write(tmp_path / "capitals.jsonl", [
        {"probecast_task": {"name": "capitals", "scorer": "exact_match", "template": "Capital of {text}?",
                            "domain": "geo", "max_new_tokens": 8}},
        {"question": "France", "answer": ["Paris", "paris"]},
        {"question": "Peru", "answer": "Lima", "id": "peru"},
    ])
    task = load_jsonl_task(f)
    assert task.name == "capitals" and task.domain == "geo" and task.max_new_tokens == 8
    assert [x.id for x in task.questions][1] == "peru"
    assert task.prompt(task.questions[0]) == "Capital of France?"
    assert not task.is_multiple_choice


def test_alternatives_are_scored_continuations(tmp_path):
    f = write(tmp_path / "sum.jsonl", [
        {"probecast_task": {"name": "sum", "scorer": "numeric", "answer_prefix": " "}},
        {"question": "1+2+3=", "answer": "6", "target": "1+2=3 3+3=6 #### 6",
         "alternatives": ["2+3=5 5+1=6 #### 6", "1+2=3 3+3=6 #### 6"]},
    ])
    task = load_jsonl_task(f)
    q = task.questions[0]
    assert task.reference_continuation(q) == " 1+2=3 3+3=6 #### 6"
    assert task.alternative_continuations(q) == [" 2+3=5 5+1=6 #### 6"]  # the target itself is not repeated
    assert q.id == load_tasks(str(f))[0].questions[0].id


def test_multiple_choice_jsonl_defaults(tmp_path):
    f = write(tmp_path / "mc.jsonl", [{"question": "2+2?", "choices": ["3", "4"], "answer": 1, "context": "Math."}])
    task = load_jsonl_task(f)
    assert task.is_multiple_choice
    assert task.questions[0].gold == 1 and task.questions[0].answers == ("4",)
    assert task.prompt(task.questions[0]) == "Question: Math.\n2+2?\nAnswer:"
    assert task.reference_continuation(task.questions[0]) == " 4"


def test_ids_are_stable_content_hashes(tmp_path):
    f = write(tmp_path / "a.jsonl", [{"question": "x", "answer": "1"}, {"question": "y", "answer": "2"}])
    assert [q.id for q in load_jsonl_task(f).questions] == [q.id for q in load_jsonl_task(f).questions]
    assert len({q.id for q in load_jsonl_task(f).questions}) == 2


@pytest.mark.parametrize("lines, match", [
    (['{"question": "a", "answer": "b"}', '{"question": "c", '], r"mc?\.jsonl:2: malformed JSON"),
    (['{"question": "a"}'], r":1: each line needs `question` and `answer`"),
    (['{"question": "a", "choices": ["x", "y"], "answer": 2}'], r":1: `answer` must be the index"),
    (['{"question": "a", "choices": ["x"], "answer": 0}'], r"at least 2"),
    (['[1, 2]'], r":1: expected a JSON object"),
    (['{"question": "a", "answer": "b", "alternatives": "c"}'], r":1: `alternatives` must be a list"),
    (['{"question": "a", "choices": ["x", "y"], "answer": 0, "alternatives": ["y"]}'], r"generative tasks only"),
])
def test_malformed_jsonl_names_file_and_line(tmp_path, lines, match):
    f = write(tmp_path / "m.jsonl", lines)
    with pytest.raises(ProbecastError, match=match):
        load_jsonl_task(f)


def test_unknown_task_name_lists_choices():
    with pytest.raises(ProbecastError, match="unknown task 'mmlu_pro'"):
        load_tasks("mmlu_pro")


def test_gsm8k_and_piqa_upstream_formats(shared_data, monkeypatch):
    monkeypatch.setenv("PROBECAST_DATA_DIR", str(shared_data))
    gsm, piqa = load_tasks("gsm8k,piqa", limit=20)
    assert len(gsm.questions) == 20 and gsm.multi_step
    q = gsm.questions[0]
    assert gsm.scorer.score(q.target, q) == 1.0  # the worked solution passes its own scorer
    assert gsm.prompt(q).count("Question:") == 6  # 5-shot + the question
    assert piqa.is_multiple_choice and all(len(x.choices) == 2 for x in piqa.questions)
    assert piqa.prompt(piqa.questions[0]).startswith("Question: ") and piqa.prompt(piqa.questions[0]).endswith("\nAnswer:")
