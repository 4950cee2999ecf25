"""From test-row predictions to the reported numbers: per (task, checkpoint), per task, and averaged.

Input: a frame of test rows with columns task, checkpoint, step, pass1, sample_correct, p (prediction).
- AUROC of a task = mean over its test checkpoints of the per-checkpoint AUROC against pass@1 >= 0.5 (ranking
  questions *within* a checkpoint, the hard part). A checkpoint where every question is in one class has no
  AUROC and is skipped; when no checkpoint of a task has both classes, the task's AUROC is computed pooled
  over its test checkpoints instead (`auroc_source_by_task` says which). The same holds for the AUROC
  against one sampled attempt.
- Brier (= MSE against soft pass@1), Brier against the sampled attempt and ECE: over all test rows of the task.
- Task score error: |mean predicted − mean actual pass@1| per test checkpoint, averaged over checkpoints.
- Spearman: predicted vs actual task score across the test checkpoints (NaN with < 3 checkpoints).
- `*_mean`: mean over tasks of the per-task values (undefined tasks skipped).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from probecast.evaluation import metrics as M


def per_checkpoint(rows: pd.DataFrame, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """One row per (task, checkpoint): task scores (with a bootstrap interval over questions) and metrics."""
    out = []
    for (task, ckpt), g in rows.groupby(["task", "checkpoint"], sort=False):
        p, y = g["p"].to_numpy(), g["pass1"].to_numpy()
        lo, hi = M.bootstrap_mean_ci(p, n_boot=n_boot, seed=seed)
        out.append({"task": task, "checkpoint": ckpt, "step": int(g["step"].iloc[0]), "n_questions": len(g),
                    "pred_score": float(p.mean()), "pred_lo": lo, "pred_hi": hi, "true_score": float(y.mean()),
                    "abs_err": M.task_abs_err(y, p), "auroc": M.auroc(y >= 0.5, p),
                    "auroc_sampled": _sampled(M.auroc, g), "brier": M.brier(y, p)})
    return pd.DataFrame(out).sort_values(["task", "step"]).reset_index(drop=True)


def _sampled(metric, g: pd.DataFrame) -> float:
    if "sample_correct" not in g:
        return float("nan")
    s = g["sample_correct"].to_numpy(dtype=float)
    ok = np.isfinite(s)
    return metric(s[ok], g["p"].to_numpy()[ok]) if ok.any() else float("nan")


def _auroc_task(g: pd.DataFrame, ckpt: pd.DataFrame, column: str, label) -> tuple[float, str]:
    defined = ckpt[column].dropna()
    if len(defined):
        return float(defined.mean()), "per_checkpoint"
    y = label(g)
    ok = np.isfinite(y)
    return M.auroc(y[ok], g["p"].to_numpy()[ok]), "pooled"


def summarise(rows: pd.DataFrame, table: pd.DataFrame | None = None) -> dict:
    """The summary.json block of one method: contract keys (auroc_mean, auroc_by_task, brier_mean,
    task_abs_err_mean, spearman_mean) plus per-task detail and extra metrics."""
    table = per_checkpoint(rows) if table is None else table
    by = {k: {} for k in ("auroc", "auroc_source", "auroc_sampled", "brier", "brier_sampled", "ece",
                          "task_abs_err", "spearman")}
    for task, g in rows.groupby("task", sort=True):
        t = table[table["task"] == task]
        y, p = g["pass1"].to_numpy(), g["p"].to_numpy()
        by["auroc"][task], by["auroc_source"][task] = _auroc_task(g, t, "auroc", lambda d: (d["pass1"] >= 0.5).to_numpy(float))
        by["auroc_sampled"][task], _ = _auroc_task(
            g, t, "auroc_sampled",
            lambda d: d["sample_correct"].to_numpy(float) if "sample_correct" in d else np.full(len(d), np.nan))
        by["brier"][task] = M.brier(y, p)
        by["brier_sampled"][task] = _sampled(M.brier, g)
        by["ece"][task] = M.ece(y, p)
        by["task_abs_err"][task] = float(t["abs_err"].mean())
        by["spearman"][task] = M.spearman(t["pred_score"].to_numpy(), t["true_score"].to_numpy())
    out = {"auroc_mean": M.nanmean(by["auroc"].values()), "auroc_by_task": by["auroc"],
           "brier_mean": M.nanmean(by["brier"].values()),
           "task_abs_err_mean": M.nanmean(by["task_abs_err"].values()),
           "spearman_mean": M.nanmean(by["spearman"].values())}
    for k in ("auroc_sampled", "brier_sampled", "ece"):
        out[f"{k}_mean"] = M.nanmean(by[k].values())
    for k in ("auroc_source", "auroc_sampled", "brier", "ece", "task_abs_err", "spearman"):
        out[f"{k}_by_task"] = by[k]
    return clean(out)


def clean(obj):
    """NaN/inf -> None and numpy scalars -> Python, so the result is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


HIGHER_IS_BETTER = {"auroc": True, "brier": False, "task_abs_err": False, "spearman": True}


def losses_to_baselines(probe_name: str, probe: dict, baselines: dict[str, dict], tol: float = 1e-3) -> list[dict]:
    """Every (baseline, task or 'mean', metric) where the probe is worse than the baseline by more than `tol`
    (smaller gaps are rounding noise at three decimals)."""
    out = []
    for b_name, b in baselines.items():
        for metric, higher in HIGHER_IS_BETTER.items():
            pairs = [("mean", probe.get(f"{metric}_mean"), b.get(f"{metric}_mean"))]
            pairs += [(t, v, b.get(f"{metric}_by_task", {}).get(t))
                      for t, v in probe.get(f"{metric}_by_task", {}).items()]
            for task, pv, bv in pairs:
                if pv is None or bv is None:
                    continue
                if (bv > pv + tol) if higher else (bv < pv - tol):
                    out.append({"probe": probe_name, "baseline": b_name, "task": task, "metric": metric,
                                "probe_value": pv, "baseline_value": bv})
    return out
