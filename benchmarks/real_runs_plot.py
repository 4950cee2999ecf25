"""Several real-demo runs side by side: how each task's pass@1 moves, and where the split's last training checkpoint is.

    python benchmarks/real_runs_plot.py --ws /tmp/rd34 /tmp/rd37 /tmp/rd39 \
        --names "top-8, lr 3e-4" "LoRA, lr 1e-3" "LoRA, lr 5e-4" --out docs/real_runs_movement.png

One panel per run (`probecast demo --model smollm2 --out DIR`, its summary.json as stored; nothing is recomputed):
mean pass@1 per task against the fraction of the run's fine-tuning steps, the last training checkpoint of the
earlier→later split dashed. The title gives what the README's "A LoRA run" compares: the flipped fraction after
that checkpoint (the movement line, ≥ 0.20), carry_forward's earlier→later AUROC and the best pure hidden-state
probe's (inputs `hidden` alone).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def best_pure_hidden(s: dict) -> tuple[str, float]:
    """The probe with the highest earlier→later AUROC among those whose inputs are `hidden` (and `step`) alone."""
    pure = {n: m["auroc_mean"] for n, m in s["probes"].items()
            if set(m.get("inputs") or []) <= {"hidden", "step"} and m.get("auroc_mean") is not None}
    name = max(pure, key=pure.get)
    return name, pure[name]


def title(name: str, s: dict) -> str:
    probe, auroc = best_pure_hidden(s)
    return (f"{name}\nflipped after step {s['train_checkpoints'][-1]}: {s['demo']['movement']['flipped_fraction']:.3f}"
            f"\ncarry_forward {s['baselines']['carry_forward']['auroc_mean']:.3f}, {probe} {auroc:.3f}")


def plot(runs: list[tuple[str, dict]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from probecast.io import save_figure

    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.8), sharey=True, squeeze=False)
    for ax, (name, s) in zip(axes[0], runs):
        by_task = s["demo"]["task_score_by_checkpoint"]
        last = max(int(k) for v in by_task.values() for k in v)
        for task in sorted(by_task):
            steps = sorted(int(k) for k in by_task[task])
            ax.plot([k / last for k in steps], [by_task[task][str(k)] for k in steps], marker="o", ms=3, label=task)
        ax.axvline(int(s["train_checkpoints"][-1]) / last, color="grey", ls="--", lw=1)
        ax.set_title(title(name, s), fontsize=9)
        ax.set_xlabel("fraction of the fine-tuning steps")
    axes[0][0].set_ylabel("mean pass@1")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, out)


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws", required=True, nargs="+", type=Path, help="real demo output folders")
    ap.add_argument("--names", nargs="+", help="a panel title per folder (default: the folder names)")
    ap.add_argument("--out", type=Path, default=Path("real_runs_movement.png"))
    args = ap.parse_args(argv)
    names = args.names or [ws.name for ws in args.ws]
    if len(names) != len(args.ws):
        sys.exit(f"error: --names gives {len(names)} titles for {len(args.ws)} --ws folders; give one per folder")
    runs = []
    for name, ws in zip(names, args.ws):
        path = ws / "summary.json"
        try:
            s = json.loads(path.read_text())
            s["demo"]["task_score_by_checkpoint"], s["baselines"]["carry_forward"]  # noqa: B018 (a real demo's)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"error: {path}: cannot read it ({e}); give the folder of `probecast demo --model smollm2 --out DIR`")
        except KeyError as e:
            sys.exit(f"error: {path}: no {e} key; give the folder of a finished `probecast demo --model smollm2`")
        runs.append((name, s))
    out = plot(runs, args.out)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
