"""How much a run's per-question success moves: the figures that say a checkpoint series is worth probing.

From the labels of every checkpoint (pass@1 per question): the number of checkpoints; the tasks whose mean
pass@1 rises by at least `rise` from the first to the last checkpoint; the fraction of questions whose
binarised label (pass@1 >= 0.5) differs between the last *training* checkpoint of the earlier-predicts-later
split and the last checkpoint (what carry-forward gets wrong); and the spread between the best and the worst
task at the last checkpoint. Also the movement table itself: mean pass@1 per task per checkpoint.
"""

from __future__ import annotations

import pandas as pd

from probecast.errors import ProbecastError


def movement(labels: pd.DataFrame, last_train_step: int, rise: float = 0.2) -> dict:
    """`labels`: one row per (checkpoint, task, question) with step and pass1."""
    if labels.empty:
        raise ProbecastError("movement: no labels")
    table = labels.groupby(["task", "step"])["pass1"].mean().unstack("step").sort_index(axis=1)
    steps = list(table.columns)
    if last_train_step not in steps:
        raise ProbecastError(f"movement: no labels at the last training step {last_train_step}; steps: {steps}")
    first, last = table[steps[0]], table[steps[-1]]
    gain = (last - first).sort_values(ascending=False)
    wide = labels.assign(q=labels["task"].astype(str) + "\x1f" + labels["question_id"].astype(str))
    wide = wide.pivot_table(index="q", columns="step", values="pass1")
    before, after = wide[last_train_step], wide[steps[-1]]
    seen = before.notna() & after.notna()
    flipped = ((before[seen] >= 0.5) != (after[seen] >= 0.5)).mean() if seen.any() else float("nan")
    return {"n_checkpoints": len(steps), f"tasks_rising_{rise}": int((gain >= rise).sum()),
            "flipped_fraction": float(flipped), "best_minus_worst": float(last.max() - last.min()),
            "last_train_step": int(last_train_step), "gain_by_task": {t: float(v) for t, v in gain.items()},
            "pass1_by_task": {t: {str(s): float(v) for s, v in row.items()} for t, row in table.iterrows()}}
