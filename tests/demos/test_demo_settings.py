"""A demo workspace remembers its settings (demos/settings.py): resuming it with others stops before any work."""

import json

import pytest

from probecast.demos.embedded import DemoConfig
from probecast.demos.real import RealDemoConfig
from probecast.demos.settings import SETTINGS_FILE, check_settings
from probecast.errors import ProbecastError


def test_the_first_call_records_the_settings_and_the_same_ones_resume(tmp_path):
    cfg = DemoConfig.make(False, "m")
    check_settings(tmp_path, "embedded", cfg)
    stored = json.loads((tmp_path / SETTINGS_FILE).read_text())
    assert stored["demo"] == "embedded" and stored["questions_per_task"] == 120 and stored["size"] == "m"
    check_settings(tmp_path, "embedded", DemoConfig.make(False, "m"))  # the same settings: resumes
    real = RealDemoConfig.make(False)
    check_settings(tmp_path / "real", "smollm2", real)
    check_settings(tmp_path / "real", "smollm2", RealDemoConfig.make(False))
    assert json.loads((tmp_path / "real" / SETTINGS_FILE).read_text())["skills"] == list(real.skills)


@pytest.mark.parametrize("other,says", [
    (DemoConfig.make(False, "m", questions=60), "--questions 120 (now 60)"),
    (DemoConfig.make(False, "s"), "--size 'm' (now 's')"),
    (DemoConfig.make(True, "m"), "--quick False (now True)"),
])
def test_other_settings_are_refused_naming_the_options_and_nothing_is_written(tmp_path, other, says):
    check_settings(tmp_path, "embedded", DemoConfig.make(False, "m"))
    before = (tmp_path / SETTINGS_FILE).read_bytes()
    with pytest.raises(ProbecastError, match="holds a demo made with other settings") as err:
        check_settings(tmp_path, "embedded", other)
    assert says in str(err.value) and "another --out" in str(err.value)
    assert (tmp_path / SETTINGS_FILE).read_bytes() == before


def test_the_real_demo_in_an_embedded_demos_folder_is_refused(tmp_path):
    check_settings(tmp_path, "embedded", DemoConfig.make(False, "m"))
    with pytest.raises(ProbecastError, match="demo 'embedded' \\(now 'smollm2'\\)"):
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))


def test_a_damaged_settings_file_is_one_line_naming_it(tmp_path):
    (tmp_path / SETTINGS_FILE).write_text('{"demo": "embedded", ')
    with pytest.raises(ProbecastError, match=SETTINGS_FILE):
        check_settings(tmp_path, "embedded", DemoConfig.make(False, "m"))


def test_a_setting_newer_than_the_file_counts_as_its_default(tmp_path):
    cfg = DemoConfig.make(False, "m")
    check_settings(tmp_path, "embedded", cfg)
    stored = json.loads((tmp_path / SETTINGS_FILE).read_text())
    del stored["seed"]  # written before the demo had a --seed
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(stored))
    check_settings(tmp_path, "embedded", cfg)  # seed 0, the default: resumes
    with pytest.raises(ProbecastError, match="--seed 0 \\(now 3\\)"):
        check_settings(tmp_path, "embedded", DemoConfig.make(False, "m", seed=3))


def test_a_setting_newer_than_the_file_inside_a_nested_config_counts_as_its_default(tmp_path):
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))
    stored = json.loads((tmp_path / SETTINGS_FILE).read_text())
    del stored["finetune"]["lora_rank"], stored["finetune"]["lora_alpha"]  # written before finetune had --lora
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(stored))
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))  # the workspaces of sessions 26-27 resume
    stored["finetune"]["steps"] = 100
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(stored))
    with pytest.raises(ProbecastError, match="finetune"):
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))


def test_lora_and_lr_make_the_readmes_lora_runs_and_a_resume_names_them(tmp_path):
    lora = RealDemoConfig.make(False, lora=16).finetune  # session 28's run (/tmp/rd37)
    assert (lora.lora_rank, lora.train_layers, lora.steps, lora.lr) == (16, None, 120, 1e-3)
    half = RealDemoConfig.make(False, lora=16, lr=5e-4).finetune  # session 29's (/tmp/rd39)
    assert (half.lora_rank, half.train_layers, half.steps, half.lr) == (16, None, 120, 5e-4)
    assert RealDemoConfig.make(False, lr=1e-4).finetune == RealDemoConfig().finetune.__class__(
        **{**RealDemoConfig().finetune.__dict__, "lr": 1e-4})  # --lr alone: top-8, only the rate changes
    quick = RealDemoConfig.make(True, lora=8).finetune  # quick keeps its 2 top blocks and 6 steps
    assert (quick.lora_rank, quick.train_layers, quick.steps) == (8, 2, 6)
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))
    with pytest.raises(ProbecastError) as err:
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False, lora=16))
    assert "--lora None (now 16)" in str(err.value) and "finetune.steps 200 (now 120)" in str(err.value)
    with pytest.raises(ProbecastError, match="--lr 0.0003 \\(now 0.0005\\)"):
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False, lr=5e-4))


def _old_real_summary() -> dict:
    """summary.json's `demo` block as the real demo wrote it before demo.json existed (rd34, session 26)."""
    return {"demo": {"model": "smollm2", "quick": False, "samples": 8,
                     "questions_per_task": {"mul": 40, "weekday": 40, "units": 40, "list_last": 40, "word_add": 40,
                                            "word_sub": 40, "piqa": 80, "gsm8k": 16},
                     "finetune": {"task": "/x/tasks/mul.train.jsonl", "steps": 200, "batch_size": 8, "lr": 3e-4,
                                  "train_layers": 8, "n_checkpoints": 8, "seed": 0}}}


@pytest.mark.parametrize("other,says", [
    (RealDemoConfig.make(False, lora=16), "--lora None (now 16)"),
    (RealDemoConfig.make(False, questions=20), "--questions 40 (now 20)"),
    (RealDemoConfig.make(False, lr=1e-4), "--lr 0.0003 (now 0.0001)"),
    (DemoConfig.make(False, "m"), "demo 'smollm2' (now 'embedded')"),
])
def test_a_workspace_older_than_demo_json_is_checked_against_its_summary(tmp_path, other, says):
    """Before session 29 such a folder (no demo.json) adopted whatever the next call asked: demo.json recorded the
    new settings and the skill tasks were rewritten before the fine-tuning run's own check refused."""
    (tmp_path / "summary.json").write_text(json.dumps(_old_real_summary()))
    kind = "embedded" if isinstance(other, DemoConfig) else "smollm2"
    with pytest.raises(ProbecastError, match="summary.json: .* holds a demo made with other settings") as err:
        check_settings(tmp_path, kind, other)
    assert says in str(err.value) and not (tmp_path / SETTINGS_FILE).exists()
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))  # its own settings: resumes, and records them
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["finetune"]["lr"] == 3e-4


def test_an_old_embedded_workspace_is_checked_too(tmp_path):
    old = {"demo": {"quick": False, "size": "m", "questions_per_task": 120, "samples": 8, "train_steps": 1500}}
    (tmp_path / "summary.json").write_text(json.dumps(old))
    with pytest.raises(ProbecastError, match="--size 'm' \\(now 's'\\)"):
        check_settings(tmp_path, "embedded", DemoConfig.make(False, "s"))
    check_settings(tmp_path, "embedded", DemoConfig.make(False, "m", seed=0))


def test_an_old_summary_that_records_the_seed_is_checked_for_it(tmp_path):
    old = _old_real_summary()
    old["demo"]["seed"] = 1  # written since session 27 (`--seed`)
    (tmp_path / "summary.json").write_text(json.dumps(old))
    with pytest.raises(ProbecastError, match="--seed 1 \\(now 0\\)"):
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False, seed=1))


def test_a_summary_without_a_demo_block_is_no_demo_to_compare_with(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"probes": {}}))  # e.g. `probecast evaluate`'s
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))
    assert (tmp_path / SETTINGS_FILE).exists()


def test_a_demo_stopped_before_its_summary_is_checked_against_its_finished_run(tmp_path):
    """No demo.json and no summary.json yet (stopped while labelling): the finished run's run.json says enough."""
    (tmp_path / "run").mkdir()
    config = {"task": "/x/tasks/mul.train.jsonl", "steps": 200, "lr": 3e-4, "train_layers": 8, "seed": 0}
    (tmp_path / "run" / "run.json").write_text(json.dumps({"config": config, "finished": True}))
    with pytest.raises(ProbecastError, match="run.json: .*--lora None \\(now 16\\)"):
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False, lora=16))
    with pytest.raises(ProbecastError, match="--seed 0 \\(now 2\\)"):
        check_settings(tmp_path, "smollm2", RealDemoConfig.make(False, seed=2))
    assert not (tmp_path / SETTINGS_FILE).exists()
    check_settings(tmp_path, "smollm2", RealDemoConfig.make(False))
    toy = tmp_path / "toy"
    (toy / "run").mkdir(parents=True)
    (toy / "run" / "run.json").write_text(json.dumps({"config": {"size": "m", "steps": 1500, "seed": 0},
                                                      "finished": True}))
    with pytest.raises(ProbecastError, match="--size 'm' \\(now 's'\\)"):
        check_settings(toy, "embedded", DemoConfig.make(False, "s"))
    check_settings(toy, "embedded", DemoConfig.make(False, "m"))
