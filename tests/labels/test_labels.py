from types import SimpleNamespace

import numpy as np
import pytest

from probecast.labels.label import LabelConfig, label_task
from probecast.labels.passk import pass_at_k
from probecast.tasks.schema import Question, Task
from probecast.tasks.scorers import ExactMatch, MultipleChoice


def test_pass_at_k_matches_definition():
    assert pass_at_k(4, 0, 1) == 0.0 and pass_at_k(4, 4, 1) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(5, 3, 3) == 1.0


class FakeBackend:
    """Answers from a script: question text → list of completions; log-liks from a dict."""

    def __init__(self, script, ll=None):
        self.script, self.ll = script, ll or {}

    def generate(self, prompts, cfg):
        return [[self.script[p][0]] if cfg.greedy else self.script[p][: cfg.n] for p in prompts]

    def loglik(self, contexts, continuations):
        return [(self.ll[(c, x)], 1) for c, x in zip(contexts, continuations)]


def test_generative_labels_count_correct_samples():
    qs = [Question(id="a", text="1+1=", answers=("2",)), Question(id="b", text="2+2=", answers=("4",))]
    task = Task(name="t", questions=qs, scorer=ExactMatch())
    backend = FakeBackend({"1+1=": ["2", "3", "2", "2"], "2+2=": ["5", "4", "5", "5"]})
    df, meta = label_task(backend, task, LabelConfig(samples=4), "ck", 10)
    assert list(df["c"]) == [3, 1] and list(df["n"]) == [4, 4]
    assert list(df["pass1"]) == [0.75, 0.25]
    assert list(df["greedy_correct"]) == [1.0, 0.0] and list(df["sample_correct"]) == [1.0, 0.0]
    assert meta["wall_time_s"] >= 0 and meta["settings"]["samples"] == 4
    assert set(df["step"]) == {10}


def test_multiple_choice_labels_by_loglik():
    q = Question(id="m", text="x", answers=("yes",), choices=("no", "yes"), gold=1)
    task = Task(name="mc", questions=[q], scorer=MultipleChoice())
    ctx = task.prompt(q)
    backend = FakeBackend({}, {(ctx, " no"): -3.0, (ctx, " yes"): -1.0})
    df, meta = label_task(backend, task, LabelConfig(), "ck", 1)
    assert df.loc[0, "pass1"] == 1.0 and df.loc[0, "gold_prob"] == pytest.approx(1 / (1 + np.exp(-2)))
    assert meta["mode"] == "loglik"


def test_label_job_records_the_dtype_the_labels_were_made_in(monkeypatch, tmp_path):
    """`probecast latency` times generative labelling in the labels' own dtype, read back from this record."""
    import pandas as pd

    from probecast.labels import workspace_labels as wl
    from probecast.labels.label import LabelConfig
    from probecast.workspace import Workspace

    monkeypatch.setattr(wl, "backend_for", lambda spec, ckpt, model, tok: spec)
    monkeypatch.setattr(wl, "label_task", lambda engine, *a: (pd.DataFrame(), {"engine": engine}))
    job = wl.label_job(Workspace(tmp_path / "w"), LabelConfig(), dtype="bfloat16")
    _, meta = job.compute(None, None, SimpleNamespace(id="step-1", step=1), None)
    assert job.dtype == "bfloat16" and meta["dtype"] == "bfloat16" and meta["engine"].dtype == "bfloat16"
