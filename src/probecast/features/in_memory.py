"""A `FeatureSet` straight from `extract_task` arrays, for a model that is in memory (no store round trip).

Used where features are consumed right after the prefill pass: in-training monitoring (callbacks, watcher)
and latency accounting. Hidden states are cast to float32 as `store.load_features` does, so a probe sees the
same inputs whether the features came from disk or from memory.
"""

from __future__ import annotations

import numpy as np

from probecast.features.featureset import FeatureSet
from probecast.features.store import progress_of
from probecast.tasks.schema import Task


def featureset_from_arrays(task: Task, checkpoint: str, step: int | None, arrays: dict,
                           max_step: float | None = None, layer_ids: tuple[int, ...] | None = None) -> FeatureSet:
    """Rows = the task's questions in order; `progress` scaled by `max_step` (default: this step); `layer_ids`
    = the feature layers the arrays keep when the extraction followed a probe's reads (`plan_extraction`)."""
    n = len(task.questions)
    steps = np.full(n, step if step is not None else 0, dtype=np.int64)

    def f32(key: str):
        return None if arrays.get(key) is None else np.asarray(arrays[key], dtype=np.float32)

    return FeatureSet(question_ids=np.array([q.id for q in task.questions], dtype=object),
                      task=np.array([task.name] * n, dtype=object),
                      checkpoint=np.array([checkpoint] * n, dtype=object), step=steps,
                      hidden_last=f32("hidden_last"), hidden_mean=f32("hidden_mean"),
                      hidden_answer=f32("hidden_answer"), hidden_others=f32("hidden_others"), tail=f32("tail"),
                      tail_mask=arrays.get("tail_mask"), answer_loglik=arrays.get("answer_loglik"),
                      answer_loglik_mean=arrays.get("answer_loglik_mean"),
                      answer_loglik_paths=arrays.get("answer_loglik_paths"),
                      progress=progress_of(steps, max_step if max_step is not None else float(steps.max(initial=0))),
                      text=np.array([q.text for q in task.questions], dtype=object),
                      multiple_choice=np.full(n, task.is_multiple_choice), layer_ids=layer_ids)
