"""`probecast dynamics` on the public Pythia evaluations (skipped when ../shared/data is absent)."""

from pathlib import Path

import pandas as pd
import pytest

from probecast.cli import main

PYTHIA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "checkpoint-evals" / "pythia"


@pytest.mark.skipif(not PYTHIA.is_dir(), reason=f"public Pythia evaluations not found at {PYTHIA}")
def test_dynamics_on_pythia(tmp_path):
    out = tmp_path / "pythia"
    main(["dynamics", "--runs", str(PYTHIA), "--out", str(out), "--n-boot", "30"])
    assert (out / "report.html").exists() and (out / "report.md").exists()
    loto = pd.read_csv(out / "loto.csv")
    assert loto["task"].str.startswith("hendrycksTest-").sum() == 57
    assert {"arc_easy", "arc_challenge", "sciq", "logiqa", "piqa", "winogrande", "wsc", "lambada_openai"} <= set(loto["task"])
    # every MMLU category and the regression beating the mean-of-domain baseline on average
    assert loto["mae_regression"].mean() < loto["mae_mean_of_domain"].mean()
