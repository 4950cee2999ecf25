"""Wall time of `probecast extract` over 8 checkpoints: one process vs a local two-node Ray cluster, in one run.

    python benchmarks/ray_fanout.py                 # 8 checkpoints of the embedded run (trained once, cached)
    python benchmarks/ray_fanout.py --repeats 3 --limit 128 --tasks add,copy

Starts a private cluster on 127.0.0.1 (`ray start --head --num-cpus 1` + one `ray start --address ... --num-cpus 1`,
`probecast.executors.local_cluster`), then times the whole command, each repeat into a fresh workspace,
interleaved A,B,A,B so machine load hits both alike:
  A  `probecast extract RUN --ws W --threads N`            (N = --threads, default the cluster's CPUs)
  B  `probecast extract RUN --ws W --ray 127.0.0.1:PORT`   (one unit per checkpoint × task, one CPU each)
Both include the process start, imports and model loads (B also its Ray workers' start); the cluster's own start
is reported apart. Prints each run, the minimum of each (the figure), the spread, and the ratio A/B.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("PROBECAST_BENCH_CACHE", Path.home() / ".cache" / "probecast" / "bench-fanout"))


def embedded_run(size: str) -> Path:
    """An embedded run with 8 checkpoints (extraction cost does not depend on how well it trained)."""
    from probecast.toy.train import ToyConfig, train_toy

    run = CACHE / f"run-{size}"
    if not (run / "run.json").exists():
        train_toy(run, ToyConfig(size=size, steps=40, n_checkpoints=8, warmup=4), progress=True)
    return run


def timed(args: list[str], env: dict) -> float:
    exe = str(Path(sys.executable).with_name("probecast"))
    t0 = time.perf_counter()
    proc = subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"probecast {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return wall


def main(argv: list[str] | None = None) -> dict:
    from probecast.executors.local_cluster import ENV, LocalRayCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="s", help="embedded model size (xs, s, m, l, xl)")
    ap.add_argument("--tasks", default="add,copy")
    ap.add_argument("--limit", type=int, default=128, help="questions per task")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=2, help="cluster nodes, one CPU each")
    ap.add_argument("--threads", type=int, help="torch threads of the single process (default: --nodes, the same "
                    "cores; on a machine busy with other work 1 avoids threads spinning against it)")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    a = ap.parse_args(argv)

    run = embedded_run(a.size)
    n_ckpt = sum(1 for p in run.iterdir() if p.is_dir() and p.name.startswith("step-"))
    threads = a.threads or a.nodes
    common = ["--tasks", a.tasks, "--limit", str(a.limit), "--tail-tokens", "8"]
    env = {**os.environ, **ENV}
    t0 = time.perf_counter()
    cluster = LocalRayCluster().start(workers=a.nodes - 1)
    start_s = time.perf_counter() - t0
    single, ray = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="fanout") as tmp:
            for r in range(a.repeats):
                single.append(timed(["extract", str(run), "--ws", f"{tmp}/a{r}", *common, "--threads", str(threads)],
                                    env))
                ray.append(timed(["extract", str(run), "--ws", f"{tmp}/b{r}", *common, "--ray", cluster.address], env))
                print(f"repeat {r + 1}: single process {single[-1]:.1f} s, Ray {a.nodes} nodes {ray[-1]:.1f} s",
                      flush=True)
    finally:
        cluster.stop()
    out = {"threads": threads, "checkpoints": n_ckpt, "tasks": a.tasks, "limit": a.limit, "size": a.size,
           "nodes": a.nodes, "cluster_start_s": start_s, "single_s": single, "ray_s": ray, "single_min_s": min(single),
           "ray_min_s": min(ray), "speedup": min(single) / min(ray), "cpus": os.cpu_count()}
    print(f"extract over {n_ckpt} checkpoints × {len(a.tasks.split(','))} tasks ({a.limit} questions each, "
          f"embedded {a.size} model), machine with {os.cpu_count()} cores")
    print(f"  single process (--threads {threads}): {min(single):6.1f} s   (runs: {', '.join(f'{x:.1f}' for x in single)})")
    print(f"  Ray, {a.nodes} nodes × 1 CPU:     {min(ray):6.1f} s   (runs: {', '.join(f'{x:.1f}' for x in ray)})")
    print(f"  ratio single / Ray: {out['speedup']:.2f}   (cluster start, not timed above: {start_s:.1f} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
