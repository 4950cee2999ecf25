import random

from probecast.tasks.schema import Question
from probecast.tasks.synthetic import SPECS, SyntheticSuite, World


def test_suite_is_deterministic_and_graded():
    a, b = SyntheticSuite().tasks(), SyntheticSuite().tasks()
    assert [q.id for t in a for q in t.questions] == [q.id for t in b for q in t.questions]
    assert len(a) >= 6 and len({t.domain for t in a}) >= 3
    for t in a:
        assert len({q.id for q in t.questions}) == len(t.questions), t.name
        diffs = [q.metadata["difficulty"] for q in t.questions]
        assert min(diffs) < 0.3 and max(diffs) > 0.6, t.name  # difficulty graded inside each task
        for q in t.questions:  # the canonical target passes the task's own scorer
            assert t.scorer.score(" " + q.target, q) == 1.0, (t.name, q.text, q.target)


def test_multi_step_tasks_have_several_valid_paths():
    suite = SyntheticSuite(n_per_task=40)
    multi = [t for t in suite.tasks() if t.multi_step]
    assert len(multi) >= 2
    for t in multi:
        by_text: dict[str, set[str]] = {}
        rng = random.Random(0)
        for _ in range(3000):
            text, target, answers, _ = SPECS[t.name].make(rng, suite.world, 0.0)
            by_text.setdefault(text, set()).add(target)
        # the same question comes with different scratchpads (orders) in the pretraining corpus ...
        text, targets = max(by_text.items(), key=lambda kv: len(kv[1]))
        assert len(targets) >= 2, t.name
        # ... and every one of them is graded correct on its final answer
        answer = next(iter(targets)).split("#")[-1]
        question = Question(id="x", text=text, answers=(answer,))
        assert all(t.scorer.score(" " + tgt, question) == 1.0 for tgt in targets)


def test_knowledge_frequencies_fall_with_rank():
    w = World()
    freqs = [e["freq"] for e in w.entities]
    assert freqs == sorted(freqs, reverse=True) and freqs[0] > 50 * freqs[-1]


def test_multi_step_questions_list_every_valid_path():
    for t in [SyntheticSuite(n_per_task=30).task(n) for n in ("sum3", "age_sum")]:
        for q in t.questions:
            paths = [q.target, *q.alternatives]
            assert len(set(paths)) == len(paths)
            assert all(t.scorer.score(" " + p, q) == 1.0 for p in paths), q.text
        assert max(len(q.alternatives) for q in t.questions) == (5 if t.name == "sum3" else 1)
        # the corpus writes exactly these scratchpads: every sampled target for a question is listed
        rng, listed = random.Random(3), {q.text: {q.target, *q.alternatives} for q in t.questions}
        for _ in range(2000):
            text, target, _, _ = SPECS[t.name].make(rng, SyntheticSuite().world, rng.random())
            if text in listed:
                assert target in listed[text]


def test_fewshot_prompts_fit_the_budget_and_never_leak_the_question():
    suite = SyntheticSuite(n_per_task=30)
    for t in suite.tasks():
        for q in t.questions:
            prompt = t.prompt(q)
            assert prompt.endswith(q.text) and prompt.count("<s>") >= 1, (t.name, prompt)
            # "<s>" is one token of the toy tokenizer; BOS + prompt + " " + answer fits the budget
            assert len(prompt) - 2 * prompt.count("<s>") + 2 + len(q.target) <= suite.context_budget
            shots = prompt[: -len(q.text)]
            for name in q.text.split()[1:]:
                if name.isalpha() and len(name) > 2:
                    assert name not in shots, (t.name, name, shots)
    zero_shot = SyntheticSuite(context_budget=0).task("add")
    assert zero_shot.prompt(zero_shot.questions[0]) == zero_shot.questions[0].text
    assert [q.id for q in SyntheticSuite(context_budget=0).task("age").questions] == \
        [q.id for q in SyntheticSuite().task("age").questions]  # shots do not change question ids
