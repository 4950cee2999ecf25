"""Render `ReportData` as one self-contained HTML page: no script, no external file; figures are inline
base64 PNGs and every table's data can also be downloaded from the page as CSV (data: links).

Numbers in tables are shown to 4 decimals; each cell also carries the full value in `data-value`, so a
reader (or a test) can check the page against the workspace files.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time

import pandas as pd

from probecast.report import figures
from probecast.report.data import ReportData, best_rows, latest_monitor, monitor_accuracy

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#222;
padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem}table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.15rem .4rem;text-align:right}th{background:#f4f4f4}
td.s,th.s{text-align:left}img{max-width:100%;border:1px solid #eee}.note{color:#666;font-size:.85rem}
.kpi{display:inline-block;margin:.3rem 1rem .3rem 0;padding:.4rem .8rem;background:#f4f7fb;border-radius:6px}
.kpi b{display:block;font-size:1.2rem}pre{background:#f8f8f8;padding:.5rem;font-size:.75rem;overflow:auto}
"""


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _raw(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


def table(df: pd.DataFrame, table_id: str, columns: list[str] | None = None, csv_name: str | None = None) -> str:
    """An HTML table of `df` (cells: 4-decimal text, full value in data-value) and a CSV download link."""
    if df is None or df.empty:
        return '<p class="note">no data</p>'
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    sub = df[cols]
    numeric = {c for c in cols if pd.api.types.is_numeric_dtype(sub[c])}
    head = "".join(f'<th class="{"" if c in numeric else "s"}">{esc(c)}</th>' for c in cols)
    body = []
    for row in sub.itertuples(index=False):
        cells = []
        for c, v in zip(cols, row):
            v = v.item() if hasattr(v, "item") else v
            cells.append(f'<td class="{"" if c in numeric else "s"}" data-col="{esc(c)}" '
                         f'data-value="{esc(_raw(v))}">{esc(fmt(v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    link = ""
    if csv_name:
        data = base64.b64encode(sub.to_csv(index=False).encode()).decode()
        link = f'<p class="note"><a download="{esc(csv_name)}" href="data:text/csv;base64,{data}">download {esc(csv_name)}</a></p>'
    return (f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            + link)


def image(png: bytes | None, alt: str, img_id: str) -> str:
    if png is None:
        return f'<p class="note">no data for: {esc(alt)}</p>'
    return f'<img id="{esc(img_id)}" alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def kpi(label: str, value, kpi_id: str) -> str:
    return f'<div class="kpi" id="{esc(kpi_id)}"><b data-value="{esc(_raw(value))}">{esc(fmt(value))}</b>{esc(label)}</div>'


def section(title: str, body: str, sid: str) -> str:
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'


# ---- sections ------------------------------------------------------------------------------------------------
def headline(d: ReportData) -> str:
    best = d.best_probe
    parts = []
    if best and best in (d.summary.get("probes") or {}):
        m = d.summary["probes"][best]
        parts.append(f"<p>Best probe <b>{esc(best)}</b> on test checkpoints {esc(d.summary.get('test_checkpoints'))} "
                     f"(trained on {esc(d.summary.get('train_checkpoints'))}), held-out questions:</p>")
        for key, label in (("auroc_mean", "AUROC (mean over tasks)"), ("brier_mean", "Brier"),
                           ("task_abs_err_mean", "|predicted − actual task score|"), ("spearman_mean", "Spearman")):
            parts.append(kpi(label, m.get(key), f"kpi-{key}"))
    lat = d.summary.get("latency_s") or {}
    if lat.get("generative") and lat.get("probe"):
        parts.append(kpi("× faster than generative evaluation", lat["generative"] / lat["probe"], "kpi-speedup"))
    if not d.monitor.empty:
        parts.append(kpi("monitored evaluations", int(latest_monitor(d)["step"].nunique()), "kpi-monitored"))
    return "".join(parts) or '<p class="note">no evaluation in this workspace yet (run `probecast evaluate`).</p>'


def scores_section(d: ReportData) -> str:
    mon = latest_monitor(d)
    body = image(figures.scores_over_training(d), "predicted vs actual task score over training", "fig-scores")
    body += ('<p class="note">Black: actual pass@1 from generative labels (all questions). Blue band: the in-training '
             'monitor (95% bootstrap interval over questions; red crosses: audits by real generation on a random '
             'subset). Orange band: the best probe in the evaluation protocol on held-out questions, dotted grey: the '
             'actual score of those questions. Dotted verticals: the probe\'s training checkpoints.</p>')
    body += "<h3>Best probe per task and test checkpoint (evaluation/per_checkpoint.parquet)</h3>"
    body += table(best_rows(d), "per-checkpoint", ["task", "checkpoint", "step", "n_questions", "pred_score", "pred_lo",
                                                   "pred_hi", "true_score", "abs_err", "auroc", "brier"],
                  "per_checkpoint_best.csv")
    if not mon.empty:
        body += "<h3>In-training monitor (monitor/predictions.jsonl)</h3>"
        joined = mon
        if not d.actual.empty:
            joined = mon.merge(d.actual[["step", "task", "actual"]], on=["step", "task"], how="left")
        body += table(joined, "monitor", ["run", "checkpoint", "step", "task", "pred_pass1", "pred_pass1_lo",
                                          "pred_pass1_hi", "actual", "audit_pass1", "audit_pred_pass1", "ppi_estimate",
                                          "ppi_lo", "ppi_hi", "ppi_n_labels", "ppi_lam", "ppi_effective_labels",
                                          "drift_cusum", "latency_s", "eval_latency_s", "probe", "probe_version",
                                          "source"], "monitor.csv")
        if "ppi_estimate" in mon:
            body += ('<p class="note">Audited rows: <b>ppi_estimate</b> [ppi_lo, ppi_hi] is the prediction-powered '
                     '(PPI++) task score: the probe on every question corrected by the real labels of the random audit '
                     '(ppi_n_labels questions); its 90% interval is valid whatever the probe\'s bias. ppi_lam: the '
                     'power-tuning weight (0 = labels only); ppi_effective_labels: labels alone needed for the same '
                     'width. drift_cusum: the drift test\'s statistic (refit when above 4).</p>')
        if d.events:
            body += "<h3>Probe refits on drift (monitor/events.jsonl)</h3>"
            body += table(pd.DataFrame(d.events), "refits", ["run", "checkpoint", "step", "from", "to", "tasks",
                                                             "rows", "audit_rows", "drift_test"], "refits.csv")
        body += ("<h3>Monitor accuracy per task</h3><p class=\"note\">Over monitored checkpoints that have generative "
                 "labels and come after the probe's training checkpoints (\"scored\"): mean |predicted − actual| task score, the fraction of checkpoints whose actual score lies in "
                 "the interval (it covers question sampling, not probe error), and for audits the gap between the "
                 "probe's mean and generative pass@1 on the same random subset.</p>")
        body += table(monitor_accuracy(d), "monitor-accuracy", csv_name="monitor_accuracy.csv")
    return body


def quality_section(d: ReportData) -> str:
    body = image(figures.auroc_by_task(d), "per-task AUROC", "fig-auroc")
    rows = []
    for kind in ("probes", "baselines"):
        for name, m in (d.summary.get(kind) or {}).items():
            for task, auroc in (m.get("auroc_by_task") or {}).items():
                rows.append({"method": name, "kind": kind[:-1], "task": task, "auroc": auroc,
                             "brier": (m.get("brier_by_task") or {}).get(task),
                             "ece": (m.get("ece_by_task") or {}).get(task),
                             "task_abs_err": (m.get("task_abs_err_by_task") or {}).get(task),
                             "spearman": (m.get("spearman_by_task") or {}).get(task)})
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.astype({c: float for c in ("auroc", "brier", "ece", "task_abs_err", "spearman")})
    body += table(df, "task-metrics", csv_name="task_metrics.csv")
    body += f"<h3>Calibration of {esc(d.best_probe)} (test rows)</h3>"
    body += image(figures.calibration(d), "calibration", "fig-calibration")
    if not d.predictions.empty and d.best_probe:
        bins = figures.calibration_bins(d.predictions[d.predictions["method"] == d.best_probe])
        body += table(bins, "calibration-bins", csv_name="calibration_bins.csv")
    losses = d.summary.get("losses_to_baselines") or []
    if losses:
        body += f"<h3>Where {esc(d.best_probe)} loses to a baseline</h3>" + table(pd.DataFrame(losses), "losses")
    return body + auroc_interval_tables(d.summary)


def auroc_interval_tables(summary: dict) -> str:
    """Each method's mean AUROC with its question-bootstrap interval, and each probe's paired gap to each baseline."""
    paired = summary.get("auroc_paired")
    if not paired:
        return ""
    level = f"{paired['level']:.0%}"
    means = [{"method": n, "kind": kind[:-1], "auroc_mean": m.get("auroc_mean"), **_ci_bounds(m)}
             for kind in ("probes", "baselines") for n, m in (summary.get(kind) or {}).items()]
    gaps = [{"probe": n, "baseline": b, **g} for b, by in paired.get("against", {}).items() for n, g in by.items()
            if n in (summary.get("probes") or {})]
    body = (f"<h3>Mean AUROC with its {level} interval, and each probe's gap to each baseline</h3>"
            f'<p class="note">{esc(paired["boot"])} resamples of the held-out questions, the same for every '
            "method (a question keeps its rows at every test checkpoint); a gap whose interval contains 0 is "
            "not resolved by these questions.</p>")
    body += table(pd.DataFrame(means), "auroc-intervals", csv_name="auroc_intervals.csv")
    if gaps:
        body += table(pd.DataFrame(gaps), "auroc-gaps", csv_name="auroc_gaps.csv")
    return body


def _ci_bounds(method_block: dict) -> dict:
    """{ci_lo, ci_hi} of a summary method block's `auroc_ci` (None when it has none)."""
    lo, hi = method_block.get("auroc_ci") or (None, None)
    return {"ci_lo": lo, "ci_hi": hi}


def in_checkpoint_section(summary: dict) -> str:
    """summary.json `in_checkpoint` (the demo, `probecast evaluate-in-checkpoint`): each method's mean AUROC inside
    one checkpoint with its interval, per task, and its gap to each baseline run there."""
    block = summary.get("in_checkpoint") or {}
    methods = block.get("methods") or {}
    proto = block.get("protocol") or {}
    rows = [{"method": n, "inputs": "+".join(m.get("inputs", [])), "auroc_mean": m.get("auroc_mean"), **_ci_bounds(m),
             **{f"auroc {t}": v for t, v in (m.get("auroc_by_task") or {}).items()}} for n, m in methods.items()]
    body = (f'<p class="note">At each of the checkpoints {esc(proto.get("checkpoints"))} every method is fitted on '
            f'{esc(proto.get("n_folds", 0) - 1)} question folds of that checkpoint and scores the remaining one (folds '
            "stratified by task and label; probes choose layer and L2 on the training folds only). AUROC per task "
            "and checkpoint, averaged over checkpoints, then tasks; the interval resamples the questions, the folds "
            + ("fixed." if proto.get("repeats", 1) == 1 else f"averaged over {esc(proto['repeats'])} fold draws.")
            + "</p>")
    body += table(pd.DataFrame(rows), "in-checkpoint", csv_name="in_checkpoint.csv")
    gaps = [{"method": n, "baseline": b, **g} for b, by in (block.get("auroc_paired") or {}).get("against", {}).items()
            for n, g in by.items()]
    if gaps:
        body += table(pd.DataFrame(gaps), "in-checkpoint-gaps", csv_name="in_checkpoint_gaps.csv")
    return body


def latency_section(d: ReportData) -> str:
    lat = figures.latency_values(d)
    body = image(figures.latency(d), "latency per checkpoint", "fig-latency")
    body += table(pd.DataFrame({"path": list(lat), "seconds": list(lat.values())}), "latency")
    detail = d.summary.get("latency_detail")
    if detail:
        body += f"<pre>{esc(json.dumps(detail, indent=1))}</pre>"
    return body


def _scalars(obj, prefix: str = "", depth: int = 0) -> list[tuple[str, object]]:
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _scalars(v, f"{prefix}{k}.", depth + 1) if depth < 2 else []
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        out.append((prefix.rstrip("."), obj))
    return out


def forecasts_section(d: ReportData) -> str:
    if not d.forecasts:
        return '<p class="note">no forecaster results in forecasts/ (write them with `probecast forecast flp|flpm|ladder|auto|trajectory ... --save W/forecasts/NAME.json`, or `probecast forecast cod ... --out W/forecasts`).</p>'
    body = ""
    for i, f in enumerate(d.forecasts):
        body += f"<h3>{esc(f['name'])}</h3>"
        if f["png"] is not None:
            body += image(f["png"].read_bytes(), f["name"], f"fig-forecast-{i}")
        kv = _scalars(f["result"])
        if kv:
            body += table(pd.DataFrame(kv, columns=["field", "value"]).astype({"value": str}), f"forecast-{i}")
        else:
            body += f"<details><summary>result</summary><pre>{esc(json.dumps(f['result'], indent=1)[:20000])}</pre></details>"
    return body


def data_section(d: ReportData) -> str:
    body = "<h3>Checkpoints</h3>" + table(pd.DataFrame(d.checkpoints), "checkpoints", csv_name="checkpoints.csv")
    body += "<h3>Tasks</h3>" + table(pd.DataFrame(d.task_specs), "task-specs")
    if not d.actual.empty:
        body += table(d.actual, "actual-scores", csv_name="actual_scores.csv")
    settings = {k: d.summary[k] for k in ("split", "demo", "skipped") if k in d.summary}
    if settings:
        body += f"<h3>Settings</h3><pre>{esc(json.dumps(settings, indent=1))}</pre>"
    if d.probe_configs:
        body += f"<h3>Fitted probes</h3><pre>{esc(json.dumps(d.probe_configs, indent=1, default=str)[:20000])}</pre>"
    if not d.questions.empty:
        body += (f"<details><summary>Questions ({len(d.questions)}) with their pass@1 per labelled step</summary>"
                 f"{table(d.questions, 'questions', csv_name='questions.csv')}</details>")
    return body


def render(d: ReportData) -> str:
    title = f"probecast report — {d.root.name}"
    sections = [section("Summary", headline(d), "summary"),
                section("Predicted vs actual task score over training", scores_section(d), "scores"),
                section("Probe quality per task: AUROC and calibration", quality_section(d), "quality"),
                *([section("Inside one checkpoint: the in-checkpoint protocol", in_checkpoint_section(d.summary),
                           "in-checkpoint-section")] if d.summary.get("in_checkpoint") else []),
                section("Latency: probe vs generative evaluation", latency_section(d), "latency-section"),
                section("Forecasters", forecasts_section(d), "forecasts"),
                section("Data this report was computed from", data_section(d), "data")]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<link rel=\"icon\" href=\"data:,\"><title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"note\">workspace {esc(d.root.resolve())} · generated "
            f"{esc(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>{''.join(sections)}</body></html>\n")
