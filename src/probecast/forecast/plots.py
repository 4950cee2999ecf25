"""PNG plots of forecasts: fitted curves over their data, and the prediction with its interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from probecast.forecast.base import Forecast, Forecaster, Query
from probecast.io import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_two_stage(f: Forecaster, query: Query, forecast: Forecast, path: str | Path,
                   actual: float | None = None) -> None:
    """Left: stage 1 (loss against compute, per run's final checkpoint); right: stage 2 (score against loss,
    every checkpoint used) with the chained prediction and its interval."""
    plt = _pyplot()
    w = f.fit_data_.copy()
    loss = next(iter(forecast.extras.get("intermediate", {})))
    score = f.score_metric_
    z = forecast.extras["intermediate"][loss]
    w["compute"] = w["flops"].where(w["flops"].notna(), 6 * w["params"] * w["tokens"])
    finals = w.loc[w.groupby("run")["step"].idxmax()]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    xcol, xq = ("tokens", float(query.tokens or 0)) if f.name == "ladder" else ("compute", query.compute)
    for n, grp in finals.groupby("params"):
        a1.scatter(grp[xcol], grp[loss], s=22, label=f"N={n:.3g}")
    a1.scatter([xq], [z], marker="*", s=180, c="k", label="target (predicted loss)")
    cs = np.geomspace(finals[xcol].min() / 2, max(xq, finals[xcol].max()) * 2, 100)
    if f.name in ("flp", "flpm"):
        stage1 = f.stage1_ if f.name == "flp" else f.stage1_[f.domains_.index(loss)]
        from probecast.forecast.laws import POWER_COMPUTE, POWER_COMPUTE_E

        law = POWER_COMPUTE_E if getattr(f, "irreducible", False) else POWER_COMPUTE
        a1.plot(cs, law.fn(stage1.params, cs), "k--", lw=1, label="fit")
    else:
        for n in sorted(set(finals["params"]) | {float(query.params)}):
            a1.plot(cs, f.step1_law_.fn(f.step1_.params, (np.full_like(cs, n), cs)), lw=0.8, alpha=0.6)
    a1.set(xscale="log", xlabel="training tokens D (one curve per N)" if xcol == "tokens" else "training compute (FLOPs)",
           ylabel=loss, title=f"{f.name}: stage 1")
    a1.legend(fontsize=7)
    a2.scatter(w[loss], w[score], s=6, alpha=0.35, label="fitted checkpoints")
    lo, hi = forecast.interval
    a2.errorbar([z], [forecast.predicted], yerr=[[forecast.predicted - lo], [hi - forecast.predicted]], fmt="*",
                c="k", ms=12, capsize=4, label=f"forecast {forecast.predicted:.3f} [{lo:.3f}, {hi:.3f}]")
    if actual is not None:
        a2.scatter([z], [actual], marker="x", c="r", s=60, label=f"actual {actual:.3f}")
    if f.name != "flpm":
        from probecast.forecast.laws import LINEAR, SIGMOID_SCORE

        stage2 = f.stage2_ if f.name == "flp" else f.step2_
        law = f.step2_law_ if f.name == "ladder" else SIGMOID_SCORE if getattr(f, "stage2", "") == "sigmoid" else LINEAR
        ls = np.linspace(min(w[loss].min(), z) - 0.05, w[loss].max(), 200)
        a2.plot(ls, law.fn(stage2.params, ls), "k--", lw=1)
    a2.set(xlabel=loss, ylabel=score, title=f"{f.name}: stage 2")
    a2.legend(fontsize=7)
    save_figure(fig, path, bbox_inches="tight")


def plot_trajectory(f: Forecaster, later: pd.DataFrame, predictions: list[dict], path: str | Path) -> None:
    """Score against tokens: fitted checkpoints, held-out later checkpoints, the fitted curve and its forecasts."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    seen = f.fit_data_
    ax.scatter(seen[f.x], seen[f.score_metric_], s=16, label="fitted checkpoints")
    if not later.empty and f.score_metric_ in later:
        ax.scatter(later[f.x], later[f.score_metric_], s=16, marker="s", facecolors="none", edgecolors="C1",
                   label="later checkpoints (held out)")
    xs = np.array([p[f.x] for p in predictions], float)
    ys = np.array([p["predicted"] for p in predictions])
    lo = np.array([p["interval"][0] for p in predictions])
    hi = np.array([p["interval"][1] for p in predictions])
    axis = f.x in ("tokens", "flops", "step")
    span = np.concatenate([seen[f.x].to_numpy(float), xs])
    grid = np.geomspace(span.min(), span.max(), 80) if axis else np.linspace(span.min(), span.max(), 80)
    curve = [f.predict(f.query_at(g)).predicted for g in grid]
    ax.plot(grid, curve, "k--", lw=0.8, alpha=0.6, label="fitted law")
    ax.plot(xs, ys, "k-", lw=1.2, label=f"{f.form} forecast")
    ax.fill_between(xs, lo, hi, color="k", alpha=0.12, label=f"{int(f.level * 100)}% interval")
    if f.fit_until is not None and f.x == "tokens":
        ax.axvline(f.fit_until, c="grey", ls=":", lw=1)
    ax.set(xscale="log" if axis else "linear", xlabel=f.x, ylabel=f.score_metric_, title=f"{f.run_}: trajectory ({f.form})")
    ax.legend(fontsize=7)
    save_figure(fig, path, bbox_inches="tight")


def plot_compare(df: pd.DataFrame, by: str, path: str | Path) -> None:
    """Predicted against actual score per method/form (intervals drawn for up to three groups); the diagonal is
    a perfect forecast."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ok = df.dropna(subset=["predicted"])
    groups = list(ok.groupby(by))
    for name, grp in groups:
        yerr = np.clip(np.array([grp["predicted"] - grp["lo"], grp["hi"] - grp["predicted"]], float), 0, None)
        ax.errorbar(grp["actual"], grp["predicted"], yerr=yerr if len(groups) <= 3 else None, fmt="o", ms=4,
                    alpha=0.7, capsize=2, elinewidth=0.6,
                    label=f"{name} (MAE {grp['error'].abs().mean() * 100:.1f} pts)")
    lim = [ok[["actual", "predicted"]].min().min() - 0.02, ok[["actual", "predicted"]].max().max() + 0.02]
    ax.plot(lim, lim, "k:", lw=1)
    ax.set(xlabel="actual score", ylabel="forecast", xlim=lim, ylim=lim)
    ax.legend(fontsize=7)
    save_figure(fig, path, bbox_inches="tight")
