"""The long table's schema: its columns and the one validation every adapter's output goes through.

    run, step, tokens, flops, params, metric, value
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from probecast.errors import ProbecastError
from probecast.ui import note

LONG_COLUMNS = ["run", "step", "tokens", "flops", "params", "metric", "value"]
_NUMERIC = ["tokens", "flops", "params", "value"]


def validate_long_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check and normalise a long table; errors name `source` and say what to fix.

    Returns a copy with exactly LONG_COLUMNS, typed (run/metric str, step int, the rest float), sorted by
    run, step, metric. Rows with an empty/NaN/Inf value are dropped, with a note on stderr; tokens/flops/params may be NaN (unknown) but never <= 0.
    """
    if not isinstance(df, pd.DataFrame):
        raise ProbecastError(f"{source}: expected a table, got {type(df).__name__}")
    missing = [c for c in LONG_COLUMNS if c not in df.columns]
    if missing:
        raise ProbecastError(
            f"{source}: missing column(s) {', '.join(missing)}; a long table needs {', '.join(LONG_COLUMNS)}")
    out = df[LONG_COLUMNS].copy()
    if out.empty:
        raise ProbecastError(f"{source}: the table has no rows")
    out["run"] = out["run"].astype(str)
    out["metric"] = out["metric"].astype(str)
    if (out["run"].str.strip() == "").any() or (out["metric"].str.strip() == "").any():
        raise ProbecastError(f"{source}: empty run or metric name; every row needs both")
    for col in _NUMERIC:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() & out[col].notna()
        if bad.any():
            raise ProbecastError(f"{source}: column {col} has non-numeric value {out.loc[bad, col].iloc[0]!r}")
        out[col] = values.astype(float)
    step = pd.to_numeric(out["step"], errors="coerce")
    if step.isna().any() or (step < 0).any() or (step != np.floor(step)).any():
        raise ProbecastError(f"{source}: column step must hold non-negative integers")
    out["step"] = step.astype(np.int64)
    for col in ("tokens", "flops", "params"):
        bad = out[col].notna() & ~(out[col] > 0)
        if bad.any():
            row = out[bad].iloc[0]
            raise ProbecastError(
                f"{source}: non-positive {col} ({row[col]:g}) for run {row['run']!r} step {row['step']}; "
                f"compute must be > 0 (drop step-0 rows, or leave unknown values empty)")
        if np.isinf(out[col]).any():
            raise ProbecastError(f"{source}: column {col} has infinite values")
    finite = np.isfinite(out["value"])
    if not finite.all():
        first = out[~finite].iloc[0]
        note(f"{source}: dropped {int((~finite).sum())} of {len(out)} rows with an empty or non-finite value "
             f"(first: run {first['run']!r} step {first['step']} metric {first['metric']!r})")
    out = out[finite]
    if out.empty:
        raise ProbecastError(f"{source}: no finite values in column value")
    dup = out.duplicated(["run", "step", "metric"], keep=False)
    if dup.any():
        row = out[dup].iloc[0]
        raise ProbecastError(
            f"{source}: run {row['run']!r} step {row['step']} has metric {row['metric']!r} more than once; "
            "give each run a distinct name")
    return out.sort_values(["run", "step", "metric"]).reset_index(drop=True)
