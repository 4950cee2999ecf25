"""What a person reads: dependency warnings hidden unless --verbose, progress lines in a log, whole ids, notes."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import types
import warnings

import pytest

from probecast import ui
from probecast.cli import main
from probecast.quiet import child_output_to_log, quiet_dependencies


def _warn_from(module_name: str, category=UserWarning, message="dependency says hi") -> None:
    """Raise a warning as if `module_name` (a dependency) had raised it."""
    mod = types.ModuleType(module_name)
    code = compile("import warnings\ndef f(c, m):\n    warnings.warn(m, c)\n", f"/site-packages/{module_name}.py", "exec")
    mod.__dict__["__name__"] = module_name
    exec(code, mod.__dict__)
    mod.f(category, message)


def test_quiet_hides_dependency_warnings_and_logs_then_restores(capsys):
    tf_logger = logging.getLogger("transformers")
    level = tf_logger.level
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_dependencies():
            _warn_from("somedep", FutureWarning, "`past_key_values` is deprecated")
            _warn_from("somedep", UserWarning)
            _warn_from("probecast.fake", UserWarning, "probecast's own")  # probecast's own warnings stay
            tf_logger.warning("transformers chatter")
        assert [str(w.message) for w in seen] == ["probecast's own"]
        _warn_from("somedep", FutureWarning, "after")
    assert "after" in [str(w.message) for w in seen]  # filters restored when the command ends
    assert tf_logger.level == level
    assert "transformers chatter" not in capsys.readouterr().err


def test_cli_quiet_unless_verbose(capsys, monkeypatch):
    """A command that triggers a dependency FutureWarning and a transformers log line prints neither; with
    --verbose both reach the user."""
    from probecast import cli

    def noisy() -> None:
        _warn_from("transformers.fake", FutureWarning, "`past_key_values` is deprecated and will be removed")
        logging.getLogger("transformers.modeling_utils").warning("some weights were not used")
        print("result")

    app = cli.app
    app.command("noisy-test", hidden=True)(noisy)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            main(["noisy-test"])
            out, err = capsys.readouterr()
            assert "result" in out and "deprecated" not in err and "weights" not in err
            with pytest.warns(FutureWarning, match="past_key_values"):
                main(["--verbose", "noisy-test"])
    finally:
        app.registered_commands = [c for c in app.registered_commands if c.name != "noisy-test"]


def test_plain_progress_in_a_log_has_a_line_per_step_and_a_heartbeat(capsys, monkeypatch):
    monkeypatch.setattr(ui, "HEARTBEAT_S", 0.3)
    monkeypatch.setattr(ui, "MIN_GAP_S", 0.0)
    with ui.steps("label", 2) as bar:
        bar.describe("step-110 / add")
        time.sleep(1.5)  # a long step: heartbeat lines while it runs
        bar.advance()
        bar.advance(what="step-165 / a-task-with-a-long-name-that-would-not-fit-in-80-columns")
    err = capsys.readouterr().err.splitlines()
    assert any("(running)" in line and "step-110 / add" in line for line in err)
    assert any(line.startswith("label 1/2") for line in err)
    assert any(line.startswith("label 2/2 step-165 / a-task-with-a-long-name-that-would-not-fit-in-80-columns")
               for line in err)


def test_tables_in_a_log_never_cut_ids(capsys):
    from rich.table import Table

    ids = [f"step-{s}-of-a-run-with-a-rather-long-name-{s}" for s in (110, 165)]
    table = Table(title="mean pass@1")
    table.add_column("checkpoint", **ui.id_column(ids))
    for k in range(12):
        table.add_column(f"task_{k}")
    for i in ids:
        table.add_row(i, *["0.50"] * 12)
    ui.console().print(table)
    out = capsys.readouterr().out
    assert all(i in out for i in ids) and "…" not in out


def test_note_goes_to_stderr(capsys):
    ui.note("x.csv: dropped 2 of 10 rows")
    out, err = capsys.readouterr()
    assert out == "" and err == "note: x.csv: dropped 2 of 10 rows\n"


def test_forecast_table_reports_dropped_rows(tmp_path, capsys):
    rows = ["run,step,tokens,flops,params,metric,value", "r,1,1e9,6e17,1e8,acc/x,0.3", "r,2,2e9,1.2e18,1e8,acc/x,",
            "r,3,3e9,1.8e18,1e8,acc/x,nan", "r,4,4e9,2.4e18,1e8,acc/x,0.5"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    main(["forecast", "table", "--runs", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err
    assert "dropped 2 of 4 rows" in err and "step 2" in err


def test_trajectory_with_as_many_points_as_parameters_marks_its_interval(tmp_path, capsys):
    """loglinear has 2 parameters; 2 checkpoints up to the cut leave no residual degrees of freedom: the
    forecast says so and its interval is not a zero-width guess."""
    rows = ["run,step,tokens,flops,params,metric,value"]
    rows += [f"r,{s},{s * 1e7:g},{6e8 * s * 1e7:g},1e8,acc/x,{v}" for s, v in ((100, 0.3), (200, 0.35), (400, 0.5))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    main(["forecast", "trajectory", "--runs", str(tmp_path / "t.csv"), "--run", "r", "--task", "x", "--form",
          "loglinear", "--fit-until-tokens", "2e9", "--n-boot", "0", "--json"])
    import json

    out = json.loads(capsys.readouterr().out)
    assert "no residual degrees of freedom" in out["interval_note"]
    lo, hi = out["interval"]
    assert hi - lo > 0.01 and lo <= 0.5 <= hi  # the actual value at step 400 is inside


def test_extract_through_the_cli_shows_no_transformers_deprecation(tiny_run, tmp_path, capsys, recwarn):
    """sum3 lists several valid answer paths, scored on the prompt's KV cache (the call transformers 5 flags
    as deprecated): through the CLI, neither the warning nor a log line reaches the user."""
    warnings.simplefilter("always")
    main(["extract", str(tiny_run), "--ws", str(tmp_path / "w"), "--tasks", "sum3", "--limit", "4",
          "--checkpoints", "step-8,8"])
    out, err = capsys.readouterr()
    assert "deprecated" not in (out + err).lower() and "FutureWarning" not in out + err
    assert not [w for w in recwarn if issubclass(w.category, (FutureWarning, DeprecationWarning))
                and "transformers" in (w.filename + str(w.message))]
    assert list((tmp_path / "w" / "features").rglob("*.safetensors"))


def test_processes_started_while_quiet_write_to_a_log_not_to_the_user(capfd):
    """vLLM's engine is a child process: warning filters and logger levels do not reach it, its file descriptors do."""
    child = [sys.executable, "-c", "import sys; print('chatter out'); print('chatter err', file=sys.stderr)"]
    with child_output_to_log("test") as log:
        assert log is None  # not quiet (a test, a notebook, --verbose): nothing is redirected
        subprocess.run(child, check=True)
    assert "chatter out" in capfd.readouterr().out
    with quiet_dependencies():
        with child_output_to_log("test") as log:
            subprocess.run(child, check=True)
        print("ours")
    seen = capfd.readouterr()
    assert "chatter" not in seen.out + seen.err and "ours" in seen.out
    assert log.read_text().split() == ["chatter", "out", "chatter", "err"]
    log.unlink()
