"""Test helpers for the report: a workspace with a planted answer (so its numbers are not all zero), and a
headless Chromium (Debian's chromium + chromedriver through Selenium; no browser download)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

STEPS = (10, 20, 40, 80, 160)
TASKS = ("add", "copy")


def planted_workspace(root: Path, n_questions: int = 40, n_layers: int = 3, dim: int = 8, seed: int = 0,
                      question_prefix: str = "", direction_seed: int | None = None):
    """Labels and features whose success logit (ability(step) − difficulty) is planted in one layer; then the
    real evaluation protocol (ridge probe + baselines), a latency block and a forecaster result.
    `question_prefix` and `direction_seed` (the planted direction's own seed; `seed`'s draw by default) build a
    second, disjoint question set of the same run: e.g. seed=1, question_prefix="dev-", direction_seed=0."""
    from probecast.features.extract import ExtractConfig
    from probecast.features.store import save_features
    from probecast.evaluation.splits import SplitConfig
    from probecast.evaluation.pipeline import evaluate_workspace
    from probecast.workspace import Workspace

    rng = np.random.default_rng(seed)
    ws = Workspace(root)
    direction = rng.normal(size=dim) if direction_seed is None else np.random.default_rng(direction_seed).normal(size=dim)
    direction /= np.linalg.norm(direction)
    for task in TASKS:
        difficulty = rng.normal(0, 1.5, n_questions)
        qids = [f"{question_prefix}{task}-{i}" for i in range(n_questions)]
        for step in STEPS:
            logit = 2.5 * np.log(step / STEPS[0]) / np.log(STEPS[-1] / STEPS[0]) - 1.5 - difficulty
            p = 1 / (1 + np.exp(-logit))
            c = rng.binomial(4, p)
            hidden = rng.normal(size=(n_questions, n_layers, dim))
            hidden[:, 1] += logit[:, None] * direction[None]
            ll = np.log(np.clip(p + rng.normal(0, 0.1, n_questions), 1e-3, 1)).astype(np.float32)
            ckpt = f"step-{step}"
            save_features(ws, ckpt, step, task, qids,
                          {"hidden_last": hidden.astype(np.float16),
                           "hidden_mean": rng.normal(size=hidden.shape).astype(np.float16),
                           "answer_loglik": ll, "answer_loglik_mean": ll / 2},
                          {"settings": ExtractConfig(tail_tokens=0).to_dict(), "prompts": [f"Q {q}" for q in qids]})
            ws.write_labels(ckpt, task, pd.DataFrame({
                "checkpoint": ckpt, "step": step, "task": task, "question_id": qids, "domain": "math",
                "difficulty": difficulty, "n": 4, "c": c, "pass1": c / 4, "k": 4, "pass_at_k": (c > 0).astype(float),
                "greedy_correct": np.nan, "sample_correct": (rng.random(n_questions) < p).astype(float),
                "completions": [["x"] * 4] * n_questions}), {"task": task})
    ws.add_checkpoints({"id": f"step-{s}", "path": f"/nowhere/step-{s}", "step": s} for s in STEPS)
    ws.remember_tasks(",".join(TASKS), n_questions)
    evaluate_workspace(ws, SplitConfig(n_train_checkpoints=2), probes=["ridge"],
                       baselines=["carry_forward", "answer_loglik"], show_progress=False)
    summary = json.loads(ws.summary_file.read_text())
    summary["latency_s"] = {"generative": 12.0, "probe": 0.8, "prefill_floor": 0.6}
    ws.summary_file.write_text(json.dumps(summary))
    _forecast(ws)
    return ws


def _forecast(ws) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ws.forecasts_dir.mkdir(parents=True, exist_ok=True)
    (ws.forecasts_dir / "cod.json").write_text(json.dumps({"target": "add", "predicted": 0.42,
                                                           "interval": [0.3, 0.5], "clusters": {"n": 3}}))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [0.1, 0.3, 0.42])
    fig.savefig(ws.forecasts_dir / "cod.png")
    plt.close(fig)


def chromium_driver():
    """A headless Chromium WebDriver that records console messages; skips the test when there is none."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    driver_bin = shutil.which("chromedriver")
    if browser is None or driver_bin is None:
        pytest.skip("no headless Chromium + chromedriver installed (Debian: apt-get install chromium chromium-driver; "
                    "`make test` installs them where it can)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver_bin))
