import numpy as np
import pandas as pd
import pytest

from probecast.io import write_parquet_atomic
from probecast.evaluation.interval import probe_score_errors, widen
from probecast.workspace import Workspace


def test_widen_adds_the_error_in_quadrature():
    lo, hi = widen(0.5, 0.48, 0.53, sd=0.05, level=0.95)
    z = 1.959964
    assert lo == pytest.approx(0.5 - np.hypot(0.02, z * 0.05)) and hi == pytest.approx(0.5 + np.hypot(0.03, z * 0.05))
    assert widen(0.5, 0.48, 0.53, sd=None) == (0.48, 0.53)  # no measured error: the bootstrap interval
    assert widen(0.02, 0.01, 0.03, sd=0.2) [0] == 0.0 and widen(0.98, 0.97, 0.99, sd=0.2)[1] == 1.0


def test_probe_score_errors_read_the_evaluation(tmp_path):
    ws = Workspace(tmp_path)
    assert probe_score_errors(ws, "hybrid") == {}
    table = pd.DataFrame({"method": ["hybrid"] * 3 + ["linear"], "task": ["a", "a", "b", "a"],
                          "pred_score": [0.5, 0.2, 0.9, 0.0], "true_score": [0.4, 0.5, 0.9, 1.0]})
    write_parquet_atomic(tmp_path / "evaluation" / "per_checkpoint.parquet", table, {})
    errors = probe_score_errors(ws, "hybrid")
    assert errors == pytest.approx({"a": np.sqrt((0.01 + 0.09) / 2), "b": 0.0})
