"""A private multi-node Ray cluster on 127.0.0.1 (tests, `benchmarks/ray_fanout.py`, trying `--ray` on one machine).

Every node is one `ray start --block` process (`--head` first, then `--address` for each worker node) in a
session of its own, with its own free ports, and the cluster has its own short temp folder, so it collides with
nothing else on the machine (it does not use `ray stop`, which stops every Ray of the user). Nodes are stopped
by their process group and the processes below them (SIGTERM, then SIGKILL); `kill` SIGKILLs one node at once
to simulate a machine dying. Token authentication is off: the cluster listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))  # the `ray` of this environment
# fast node-death detection (the defaults take ~30 s), no usage reporting
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",  # a private test cluster on 127.0.0.1
       "RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
       "RAY_health_check_failure_threshold": "4", "RAY_health_check_initial_delay_ms": "500"}


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(k: int) -> list[int]:
    """k distinct free ports: all bound at once, then released (one at a time, the OS may hand the same port out
    twice, and Ray refuses two components on one port)."""
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalRayCluster:
    def __init__(self, cpus_per_node: int = 1, start_timeout: float = 120.0) -> None:
        self.cpus = cpus_per_node
        self.tmp = Path(tempfile.mkdtemp(prefix="pcray", dir="/tmp"))  # short: Ray's socket paths are limited
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []
        self.start_timeout = start_timeout

    def _start(self, head: bool) -> subprocess.Popen:
        ports = [p for p in free_ports(7) if p != self.port][:6]  # distinct, and not the head's
        args = [RAY, "start", "--block", "--num-cpus", str(self.cpus), "--num-gpus", "0", "--node-ip-address", "127.0.0.1",
                "--temp-dir", str(self.tmp), "--dashboard-agent-listen-port", str(ports[0]),
                "--dashboard-agent-grpc-port", str(ports[1]), "--runtime-env-agent-port", str(ports[2]),
                "--metrics-export-port", str(ports[3]), "--object-store-memory", str(200 * 2**20)]
        if head:
            args += ["--head", "--port", str(self.port), "--include-dashboard", "false", "--dashboard-port",
                     str(ports[4]), "--ray-client-server-port", str(ports[5]), "--disable-usage-stats"]
        else:
            args += ["--address", self.address]
        log = self.tmp / f"node{len(self.nodes)}.log"
        proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **ENV}, cwd=self.tmp)
        self.nodes.append(proc)
        end = time.monotonic() + self.start_timeout
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"ray start failed:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        return proc

    def start(self, workers: int = 1) -> "LocalRayCluster":
        try:
            self._start(head=True)
            for _ in range(workers):
                self._start(head=False)
        except BaseException:
            self.stop()
            raise
        return self

    def add_node(self) -> subprocess.Popen:
        return self._start(head=False)

    def kill(self, node: subprocess.Popen) -> None:
        """SIGKILL a whole node: its `ray start` group (raylet, agents) and every process below it (Ray's workers
        run in process groups of their own)."""
        below = descendants(node.pid)
        _killpg(node.pid, signal.SIGKILL)
        for pid in below:
            _kill(pid, signal.SIGKILL)
        node.wait(timeout=10)

    def stop(self) -> None:
        below = [pid for proc in self.nodes for pid in descendants(proc.pid)]
        for proc in reversed(self.nodes):
            _killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while any(_group_alive(p.pid) for p in self.nodes) and time.monotonic() < deadline:
            time.sleep(0.2)
        for proc in self.nodes:
            _killpg(proc.pid, signal.SIGKILL)
        for pid in below:
            _kill(pid, signal.SIGKILL)
        for proc in self.nodes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.nodes = []
        shutil.rmtree(self.tmp, ignore_errors=True)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
