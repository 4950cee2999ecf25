"""The real-model run's skill suite: test questions never in the fine-tuning data, graded, self-consistent."""

import json

import pytest

from probecast.finetune.data import training_pairs
from probecast.tasks.loaders import load_jsonl_task
from probecast.tasks.skills import SKILLS, write_skill_suite


@pytest.mark.parametrize("seed", [0, 1])  # `probecast demo --seed`: another draw, as disjoint
def test_test_questions_are_never_fine_tuned_on(tmp_path, seed):
    tests, trains = write_skill_suite(tmp_path, list(SKILLS), n_test=40, n_train=400, seed=seed)
    train_prompts = {p for p, _ in training_pairs(",".join(map(str, trains)))}
    for test_file, train_file in zip(tests, trains):
        task = load_jsonl_task(test_file)
        train_task = load_jsonl_task(train_file)
        assert len(task.questions) == 40 and len(train_task.questions) >= 150, task.name  # weekday has 7 × 30 questions in all
        assert not {q.text for q in task.questions} & {q.text for q in train_task.questions}, task.name
        assert not {task.prompt(q) for q in task.questions} & train_prompts, task.name


def test_targets_pass_their_own_scorer_and_difficulty_is_graded(tmp_path):
    tests, _ = write_skill_suite(tmp_path, list(SKILLS), n_test=60, n_train=10)
    for path in tests:
        task = load_jsonl_task(path)
        assert all(task.scorer.score(" " + q.target, q) == 1.0 for q in task.questions), task.name
        assert task.scorer.score(" no idea", task.questions[0]) == 0.0
        d = [q.metadata["difficulty"] for q in task.questions]
        assert min(d) < 0.2 and max(d) > 0.8, task.name
        assert len({q.id for q in task.questions}) == 60  # distinct questions


def test_suite_is_deterministic(tmp_path):
    a, _ = write_skill_suite(tmp_path / "a", ["add", "weekday"], 10, 20)
    b, _ = write_skill_suite(tmp_path / "b", ["add", "weekday"], 10, 20)
    assert [p.read_text() for p in a] == [p.read_text() for p in b]
    header = json.loads(a[0].read_text().splitlines()[0])["probecast_task"]
    assert header["name"] == "add" and header["max_new_tokens"] <= 16


def test_another_seed_draws_other_questions(tmp_path):
    a, _ = write_skill_suite(tmp_path / "a", ["mul", "word_add"], 40, 20, seed=0)
    b, _ = write_skill_suite(tmp_path / "b", ["mul", "word_add"], 40, 20, seed=1)
    for x, y in zip(a, b):
        qa, qb = ({q.text for q in load_jsonl_task(p).questions} for p in (x, y))
        assert qa != qb and len(qa & qb) < 40
