import pytest

from probecast.errors import ProbecastError
from probecast.tasks.schema import PromptTemplate, Question, Task
from probecast.tasks.scorers import ExactMatch, MultipleChoice, Numeric, NumericLast, Regex, cut_at_stop, make_scorer


def q(answers, **kw):
    return Question(id="x", text="t", answers=tuple(answers), **kw)


def test_exact_match_normalises_case_punctuation_articles():
    s = ExactMatch()
    assert s.score("  The Paris.", q(["paris"])) == 1.0
    assert s.score("london", q(["paris"])) == 0.0
    assert ExactMatch(normalize=False).score(" abc ", q(["abc"])) == 1.0
    assert ExactMatch(normalize=False).score("Abc", q(["abc"])) == 0.0


def test_numeric_gsm8k_marker_then_last_number():
    s = Numeric(marker="####")
    assert s.score("so 3+4=7 #### 1,234", q(["1234"])) == 1.0
    assert s.score("the answer is 12 then 13", q(["13"])) == 1.0  # fallback: last number
    assert s.score("#### 12 and later 99", q(["12"])) == 1.0
    assert s.score("no number", q(["1"])) == 0.0
    assert Numeric(marker="#").score("12+34=46 46+5=51 #51", q(["51"])) == 1.0
    assert NumericLast().score("#### 5 wait 6", q(["6"])) == 1.0


def test_regex_and_multiple_choice():
    assert Regex(pattern=r"answer: (\w+)").score("the answer: Blue!", q(["blue"])) == 1.0
    assert Regex(pattern=r"answer: (\w+)").score("nothing", q(["blue"])) == 0.0
    out = MultipleChoice().score_choices([-5.0, -1.0], ["a", "bbbbbbbbbb"], gold=1)
    assert out["acc"] == 1.0 and out["acc_norm"] == 1.0 and out["gold_prob"] > 0.9
    out = MultipleChoice().score_choices([-2.0, -3.0], ["a", "bbbbbbbbbb"], gold=1)
    assert out["acc"] == 0.0 and out["acc_norm"] == 1.0  # per-character log-lik favours the long choice


def test_cut_at_stop():
    assert cut_at_stop("abc\ndef", ("\n",)) == "abc"
    assert cut_at_stop("abQuestion: x", ("Question:", "\n")) == "ab"


def test_scorer_that_does_not_fit_the_task_is_rejected():
    with pytest.raises(ProbecastError, match="needs `choices`"):
        Task(name="t", questions=[q(["a"])], scorer=MultipleChoice())
    with pytest.raises(ProbecastError, match="numeric answers"):
        Task(name="t", questions=[q(["abc"])], scorer=Numeric())
    with pytest.raises(ProbecastError, match="unknown scorer"):
        make_scorer("bleu")


def test_prompt_template_renders_fewshot():
    t = PromptTemplate(template="Q: {text}\nA:", fewshot=(("1+1", " 2"),))
    assert t.render(q(["3"])) == "Q: 1+1\nA: 2\n\nQ: t\nA:"
