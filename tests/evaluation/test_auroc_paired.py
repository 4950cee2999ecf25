"""benchmarks/auroc_paired.py: a paired bootstrap of the AUROC difference between two methods."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "report"))
from report_workspace import planted_workspace  # noqa: E402

from benchmark_module import load_benchmark  # noqa: E402

paired_bench = load_benchmark("auroc_paired")


def test_points_are_the_evaluation_figures_and_a_method_against_itself_is_zero(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=40)
    res = paired_bench.main(["--ws", str(ws.root), "--against", "carry_forward", "--boot", "200"])
    summary = json.loads((ws.root / "summary.json").read_text())
    for name, block in {**summary["probes"], **summary["baselines"]}.items():
        assert abs(res[name]["auroc"] - block["auroc_mean"]) < 1e-9, name  # aggregated as auroc_mean is
    assert res["carry_forward"]["diff"] == 0 and res["carry_forward"]["lo"] == res["carry_forward"]["hi"] == 0


def test_the_summary_holds_the_same_gaps(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=40)
    res = paired_bench.main(["--ws", str(ws.root), "--against", "carry_forward", "--boot", "1000"])
    summary = json.loads((ws.root / "summary.json").read_text())
    for name, gap in summary["auroc_paired"]["against"]["carry_forward"].items():  # same default draws
        assert (gap["lo"], gap["hi"]) == (res[name]["lo"], res[name]["hi"]), name


def test_unknown_method_and_missing_evaluation_are_one_line_and_exit_2(tmp_path):
    ws = planted_workspace(tmp_path / "ws", n_questions=20)
    script = str(ROOT / "benchmarks" / "auroc_paired.py")
    for args in (["--ws", str(ws.root), "--against", "nope"], ["--ws", str(tmp_path)]):
        r = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
