"""The option help that lists names (probes, default methods) names every one the code has."""

import re

from typer.testing import CliRunner

from probecast.cli import app
from probecast.evaluation.in_checkpoint import IN_CHECKPOINT_METHODS
from probecast.probes import REGISTRY


def _help(*argv: str) -> str:
    out = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "400", "TERM": "dumb"}).output
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", out))


def _option_help(option: str, *argv: str) -> str:
    """The help text of one option of `probecast ARGV` (what --help shows beside it)."""
    import typer

    command = typer.main.get_command(app)
    for name in argv:
        command = command.commands[name]
    return next(p.help for p in command.params if option in p.opts)


def test_fit_help_names_every_registered_probe():
    text = _help("fit")
    assert [p for p in REGISTRY if not re.search(rf"\b{p}\b", text)] == []


def test_evaluate_in_checkpoint_help_names_its_default_methods():
    text = _help("evaluate-in-checkpoint")
    assert [m for m in IN_CHECKPOINT_METHODS if not re.search(rf"\b{m}\b", text)] == []


def test_fixed_choice_help_names_every_choice():
    """The options whose values come from a fixed list say them in --help (and refuse others while parsing)."""
    from probecast.forecast.choices import CANDIDATES, FORMS, LOSS_FORMS
    from probecast.monitor.sinks import SINKS
    from probecast.optim import SPACINGS

    for argv, option, choices in ((("finetune",), "--spacing", SPACINGS),
                                  (("forecast", "trajectory"), "--form", FORMS + LOSS_FORMS),
                                  (("forecast", "auto"), "--method", tuple(CANDIDATES)),
                                  (("watch",), "--sinks", (*SINKS, "auto"))):
        text = _option_help(option, *argv)
        assert [c for c in choices if not re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)] == [], option


def test_exclusive_bounds_are_in_the_help():
    """Options that must be > 0 (`validate.positive`: typer's min= is inclusive) say so in --help."""
    for argv, option in ((("forecast", "cod"), "--bandwidth"), (("forecast", "cod"), "--max-radius"),
                         (("forecast", "cod"), "--eps"), (("forecast", "cod"), "--max-c"),
                         (("forecast", "trajectory"), "--tokens-per-step"), (("finetune",), "--lr"),
                         (("label",), "--top-p")):
        assert "> 0" in _option_help(option, *argv), option


def test_the_ray_extra_is_shown():
    assert "probecast[ray]" in _help("extract").replace(" ", "")


def test_the_fitting_commands_take_threads():
    for command in ("fit", "predict", "evaluate", "evaluate-in-checkpoint"):
        assert "--threads" in _help(command), command


def test_threads_reach_torch(tmp_path, monkeypatch):
    """`--threads` is applied before the command reads the workspace (here: one that is not there, exit 2)."""
    import pytest
    import torch

    from probecast.cli import main

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the tests run on one thread (conftest): start from another count
    try:
        with pytest.raises(SystemExit) as exc:
            main(["evaluate-in-checkpoint", "--ws", str(tmp_path), "--threads", "1"])
        assert exc.value.code == 2 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
