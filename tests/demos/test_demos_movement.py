"""demo.movement: the figures that say a run's per-question success moved."""

import pandas as pd
import pytest

from probecast.demos.movement import movement
from probecast.errors import ProbecastError


def _labels():
    rows = []
    for step, a, b in [(0, [0, 0, 0, 0], [0, 0, 1, 1]), (10, [1, 0, 0, 0], [0, 0, 1, 1]),
                       (20, [1, 1, 1, 0], [0, 0.25, 1, 1])]:
        rows += [{"task": "a", "question_id": f"q{i}", "step": step, "pass1": v} for i, v in enumerate(a)]
        rows += [{"task": "b", "question_id": f"q{i}", "step": step, "pass1": v} for i, v in enumerate(b)]
    return pd.DataFrame(rows)


def test_movement_figures():
    m = movement(_labels(), last_train_step=10)
    assert m["n_checkpoints"] == 3
    assert m["tasks_rising_0.2"] == 1  # a: 0 -> 0.75; b: 0.5 -> 0.5625
    assert m["flipped_fraction"] == pytest.approx(2 / 8)  # a's q1 and q2 flip between step 10 and 20
    assert m["best_minus_worst"] == pytest.approx(0.75 - 0.5625)
    assert m["pass1_by_task"]["a"]["20"] == pytest.approx(0.75)


def test_movement_needs_the_training_step():
    with pytest.raises(ProbecastError, match="last training step 5"):
        movement(_labels(), last_train_step=5)


def test_movement_of_a_single_checkpoint_is_zero():
    one = _labels()[lambda d: d["step"] == 0]
    m = movement(one, last_train_step=0)
    assert m["n_checkpoints"] == 1 and m["flipped_fraction"] == 0.0 and m["tasks_rising_0.2"] == 0
