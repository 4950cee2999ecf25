"""Domain grouping of tasks: MMLU categories, the other lm-eval tasks, overrides."""

import json

import pytest

from probecast.dynamics.domains import MMLU_CATEGORY, domain_of, read_overrides
from probecast.errors import ProbecastError


def test_all_57_mmlu_subjects_have_one_of_four_categories():
    assert len(MMLU_CATEGORY) == 57
    assert set(MMLU_CATEGORY.values()) == {"STEM", "humanities", "social sciences", "other"}


@pytest.mark.parametrize("task,domain", [
    ("hendrycksTest-college_physics", "MMLU STEM"), ("hendrycksTest-jurisprudence", "MMLU humanities"),
    ("mmlu_sociology", "MMLU social sciences"), ("hendrycksTest-virology", "MMLU other"),
    ("arc_easy", "exam QA"), ("logiqa", "exam QA"), ("piqa", "commonsense & language"),
    ("lambada_openai", "commonsense & language"), ("boolq", "reading comprehension"), ("arc_easy_rc_5shot", "exam QA"),
    ("my_new_task", "other"),
])
def test_domain_of(task, domain):
    assert domain_of(task) == domain


def test_overrides(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"piqa": "physical"}))
    assert domain_of("piqa", read_overrides(path)) == "physical"
    path.write_text("[1, 2]")
    with pytest.raises(ProbecastError, match="JSON object"):
        read_overrides(path)


def test_workspace_label_domains(tmp_path):
    import pandas as pd

    from probecast.dynamics.domains import workspace_domains

    (tmp_path / "checkpoints.json").write_text("[]")
    (tmp_path / "labels" / "step-1").mkdir(parents=True)
    pd.DataFrame({"task": ["add", "add"], "domain": ["arithmetic", "arithmetic"]}).to_parquet(
        tmp_path / "labels" / "step-1" / "add.parquet")
    assert workspace_domains(tmp_path) == {"add": "arithmetic"}
    assert workspace_domains(tmp_path / "labels") == {}
