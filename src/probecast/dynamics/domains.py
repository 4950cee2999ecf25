"""Which domain a task belongs to (the unit of the within/cross-domain analyses).

MMLU subjects (`hendrycksTest-<subject>`, `mmlu_<subject>`, `mmlu/<subject>`) are grouped by the four
categories of the MMLU paper's own taxonomy (hendrycks/test, categories.py): STEM, humanities, social
sciences, other (business, health, misc.). The other common lm-eval tasks are grouped by what they ask for:

* `exam QA`: arc_easy, arc_challenge, sciq, openbookqa, logiqa, mathqa (multiple-choice exam questions:
  grade-school to college science, and LogiQA's civil-service logic exam);
* `commonsense & language`: piqa, winogrande, wsc, hellaswag, lambada_openai, storycloze, copa, csqa,
  socialiqa (physical / social commonsense and coreference, plus LAMBADA's next-word cloze: everyday text
  judged by language-model likelihood);
* `reading comprehension`: boolq, race (answer from a given passage).

Tasks of a probecast workspace take the `domain` column of their labels (e.g. the synthetic tasks'
arithmetic / string / knowledge / composition). Anything else falls into `other`. A JSON file
`{task: domain}` (`--domains`) overrides all of this.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from probecast.errors import ProbecastError

_STEM = """abstract_algebra astronomy college_biology college_chemistry college_computer_science college_mathematics
college_physics computer_security conceptual_physics electrical_engineering elementary_mathematics
high_school_biology high_school_chemistry high_school_computer_science high_school_mathematics high_school_physics
high_school_statistics machine_learning"""
_HUMANITIES = """formal_logic high_school_european_history high_school_us_history high_school_world_history
international_law jurisprudence logical_fallacies moral_disputes moral_scenarios philosophy prehistory
professional_law world_religions"""
_SOCIAL = """econometrics high_school_geography high_school_government_and_politics high_school_macroeconomics
high_school_microeconomics high_school_psychology human_sexuality professional_psychology public_relations
security_studies sociology us_foreign_policy"""
_OTHER = """anatomy business_ethics clinical_knowledge college_medicine global_facts human_aging management marketing
medical_genetics miscellaneous nutrition professional_accounting professional_medicine virology"""

MMLU_CATEGORY = {s: cat for cat, block in [("STEM", _STEM), ("humanities", _HUMANITIES),
                                           ("social sciences", _SOCIAL), ("other", _OTHER)] for s in block.split()}

TASK_DOMAIN = {
    **{t: "exam QA" for t in ("arc_easy", "arc_challenge", "sciq", "openbookqa", "logiqa", "mathqa")},
    **{t: "commonsense & language" for t in ("piqa", "winogrande", "wsc", "wsc273", "hellaswag", "lambada_openai",
                                              "lambada_standard", "lambada", "storycloze", "copa", "csqa",
                                              "socialiqa", "siqa")},
    **{t: "reading comprehension" for t in ("boolq", "race")},
}

_MMLU = re.compile(r"^(?:hendrycksTest-|mmlu[_/:-])(.+)$")


def mmlu_subject(task: str) -> str | None:
    m = _MMLU.match(task)
    return m.group(1) if m else None


def domain_of(task: str, overrides: dict[str, str] | None = None) -> str:
    if overrides and task in overrides:
        return overrides[task]
    subject = mmlu_subject(task)
    if subject is not None:
        return f"MMLU {MMLU_CATEGORY.get(subject, 'other')}"
    base = re.sub(r"_(rc|mc)(_\d+shot)?$", "", task)  # OLMo-style names like arc_easy_rc_5shot
    return TASK_DOMAIN.get(base, "other")


def read_overrides(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProbecastError(f"--domains {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ProbecastError(f"--domains {path}: expected a JSON object {{task: domain name}}")
    return data


def workspace_domains(path: Path) -> dict[str, str]:
    """{task: domain} from a workspace's label files (the most common `domain` value per task); {} otherwise."""
    import pandas as pd

    path = Path(path)
    if not (path / "checkpoints.json").exists():
        return {}
    out: dict[str, str] = {}
    for file in sorted((path / "labels").glob("*/*.parquet")):
        try:
            df = pd.read_parquet(file, columns=["task", "domain"])
        except (KeyError, ValueError, OSError):
            continue
        for task, values in df.dropna().groupby("task")["domain"]:
            out.setdefault(str(task), str(values.mode().iloc[0]))
    return out


def short_name(task: str) -> str:
    """A label short enough for a heat-map axis."""
    subject = mmlu_subject(task)
    return f"mmlu:{subject}" if subject else task
