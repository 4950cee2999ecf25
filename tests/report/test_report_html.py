"""`probecast report`: a self-contained page that renders in headless Chromium without console errors and
shows the workspace's numbers."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_workspace import chromium_driver, planted_workspace  # noqa: E402


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return planted_workspace(tmp_path_factory.mktemp("report") / "ws")


@pytest.fixture(scope="module")
def report_path(planted):
    from probecast.cli import main

    out = planted.root / "out" / "report.html"
    with pytest.raises(SystemExit) as exc:
        main(["report", "--ws", str(planted.root), "--out", str(out)]) or sys.exit(0)
    assert exc.value.code in (0, None)
    return out


def test_report_is_self_contained(report_path):
    html = report_path.read_text()
    assert "<script" not in html
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert srcs and all(s.startswith("data:") for s in srcs), [s[:40] for s in srcs if not s.startswith("data:")]
    assert html.count('src="data:image/png;base64,') >= 5  # scores, AUROC, calibration, latency, forecast


def test_report_shows_each_mean_auroc_with_its_interval(report_path, planted):
    html = report_path.read_text()
    summary = json.loads(planted.summary_file.read_text())
    best = summary["best_probe"]
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('id="auroc-intervals"')[1].split("</table>")[0])
    cells = [dict(re.findall(r'data-col="([^"]+)" data-value="([^"]*)"', r)) for r in rows]
    mine = next(c for c in cells if c.get("method") == best)
    assert [float(mine["ci_lo"]), float(mine["ci_hi"])] == pytest.approx(summary["probes"][best]["auroc_ci"])
    assert 'id="auroc-gaps"' in html


def test_report_in_headless_chromium_matches_the_workspace(report_path, planted):
    from selenium.webdriver.common.by import By

    driver = chromium_driver()
    try:
        driver.get(report_path.resolve().as_uri())
        assert "probecast report" in driver.title
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) >= 5
        assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", im)
                   for im in images)

        # a value shown in the page = the value in the Parquet table
        summary = json.loads(planted.summary_file.read_text())
        best = summary["best_probe"]
        table = pd.read_parquet(planted.root / "evaluation" / "per_checkpoint.parquet")
        row = table[table["method"] == best].sort_values("pred_score").iloc[-1]
        assert 0.05 < row["pred_score"] < 0.95  # a planted, non-trivial score
        for tr in driver.find_elements(By.CSS_SELECTOR, "table#per-checkpoint tbody tr"):
            cells = {td.get_attribute("data-col"): td for td in tr.find_elements(By.TAG_NAME, "td")}
            if cells["task"].text == row["task"] and cells["checkpoint"].text == row["checkpoint"]:
                break
        else:
            raise AssertionError(f"row {row['task']} / {row['checkpoint']} not shown")
        for col in ("pred_score", "pred_lo", "pred_hi", "true_score"):
            assert cells[col].text == f"{row[col]:.4f}"
            assert float(cells[col].get_attribute("data-value")) == pytest.approx(row[col], rel=1e-12)
        kpi = driver.find_element(By.CSS_SELECTOR, "#kpi-auroc_mean b").text
        assert kpi == f"{summary['probes'][best]['auroc_mean']:.4f}"
        latency = {tr.find_elements(By.TAG_NAME, "td")[0].text: tr.find_elements(By.TAG_NAME, "td")[1].text
                   for tr in driver.find_elements(By.CSS_SELECTOR, "table#latency tbody tr")}
        assert latency["generative"] == "12.0000" and latency["probe"] == "0.8000"
        assert "0.42" in driver.find_element(By.ID, "forecasts").text
    finally:
        driver.quit()


def test_report_shows_the_monitor_log(planted, tmp_path):
    """Monitor records (as the watcher/callbacks write them) appear in the page next to the actual score."""
    from probecast.monitor.sinks import JSONLSink
    from probecast.report.build import build_report

    actual = planted.read_labels().groupby(["step", "task"])["pass1"].mean()
    sink = JSONLSink(planted)
    for step in (40, 80):
        recs = [{"checkpoint": f"step-{step}", "step": step, "task": t, "pred_pass1": 0.1 + step / 1000,
                 "pred_pass1_lo": 0.05, "pred_pass1_hi": 0.3, "latency_s": 0.2, "eval_latency_s": 0.5,
                 "run": "r", "probe": "ridge", "source": "watch", "eval_id": f"e{step}", "n_records": 2}
                for t in ("add", "copy")]
        sink.log(step, {}, recs)
    html = build_report(planted, tmp_path / "r.html").read_text()
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('id="monitor"')[1].split("<tbody>")[1].split("</tbody>")[0])
    assert len(rows) == 4
    first = dict(re.findall(r'data-col="([^"]+)" data-value="([^"]*)"', rows[0]))
    assert first["step"] == "40" and float(first["pred_pass1"]) == pytest.approx(0.14)
    assert float(first["actual"]) == pytest.approx(actual[(40, first["task"])])
    (planted.monitor_dir / "predictions.jsonl").unlink()


def test_report_on_an_empty_workspace_is_a_clear_error(tmp_path):
    from probecast.errors import ProbecastError
    from probecast.report.build import build_report
    from probecast.workspace import Workspace

    with pytest.raises(ProbecastError, match="nothing to report"):
        build_report(Workspace(tmp_path))


def test_report_shows_the_in_checkpoint_protocol_when_the_workspace_has_it(tmp_path):
    from probecast.cli import main

    ws = planted_workspace(tmp_path / "ws", n_questions=30)
    main(["evaluate-in-checkpoint", "--ws", str(ws.root), "--methods", "ridge,answer_loglik", "--folds", "3"])
    out = tmp_path / "report.html"
    with pytest.raises(SystemExit) as exc:
        main(["report", "--ws", str(ws.root), "--out", str(out)]) or sys.exit(0)
    assert exc.value.code in (0, None)
    html = out.read_text()
    block = json.loads(ws.summary_file.read_text())["in_checkpoint"]
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('id="in-checkpoint"')[1].split("</table>")[0])
    cells = {c["method"]: c for c in (dict(re.findall(r'data-col="([^"]+)" data-value="([^"]*)"', r)) for r in rows)
             if "method" in c}  # the header row has no data cells
    assert set(cells) == {"ridge", "answer_loglik"} and cells["ridge"]["inputs"] == "hidden"
    for name, m in block["methods"].items():
        assert float(cells[name]["auroc_mean"]) == pytest.approx(m["auroc_mean"])
        assert float(cells[name]["ci_hi"]) == pytest.approx(m["auroc_ci"][1])
        assert float(cells[name]["auroc add"]) == pytest.approx(m["auroc_by_task"]["add"])
    assert 'id="in-checkpoint-gaps"' in html  # ridge against answer_loglik, the baseline run there
