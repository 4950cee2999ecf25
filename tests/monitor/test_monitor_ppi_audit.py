"""`predict --audit`: real labels on random questions of a real checkpoint -> the PPI task score; bad options."""

from __future__ import annotations

import pandas as pd
import pytest

from probecast.cli import main
from probecast.workspace import Workspace


def test_predict_audit_labels_random_questions_and_prints_the_ppi_score(monitor_ws, capsys):
    ws = Workspace(monitor_ws, create=False)
    last = ws.read_checkpoints()[-1]["id"]
    main(["predict", "--ws", str(monitor_ws), "--probe", "ridge", "--checkpoints", last, "--audit", "5",
          "--audit-samples", "2"])
    out = capsys.readouterr().out
    assert "PPI" in out and "worth" in out
    for task in ("add", "color"):
        rows = pd.read_parquet(monitor_ws / "monitor" / "audit" / last / f"{task}.parquet")
        full = pd.read_parquet(ws.labels_path(last, task))
        assert len(rows) == 5 and rows["question_id"].is_unique and set(rows["question_id"]) <= set(full["question_id"])
        assert rows["pass1"].isin([0, 0.5, 1]).all() and rows["p_success"].between(0, 1).all()


@pytest.mark.parametrize("args,needle", [
    (["predict", "--probe", "ridge", "--audit", "1"], "--audit"),
    (["predict", "--probe", "ridge", "--audit", "2", "--level", "95"], "--level"),
    (["watch", "RUN", "--probe", "ridge", "--refit-on-drift"], "--refit-on-drift"),
    (["watch", "RUN", "--probe", "ridge", "--audit-every", "2", "--audit-half-width", "3"], "--audit-half-width"),
])
def test_bad_audit_options_are_one_line_errors(monitor_ws, capsys, args, needle):
    (monitor_ws / "run").mkdir(exist_ok=True)  # a run folder that exists: the audit option is what is wrong
    args = [a if a != "RUN" else str(monitor_ws / "run") for a in args]
    with pytest.raises(SystemExit) as exc:
        main(args + ["--ws", str(monitor_ws)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err
