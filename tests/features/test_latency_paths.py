"""The latency of the probe path is measured with exactly the extraction the probe needs at prediction time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import pytest

from probecast.features import latency
from probecast.features.extract import ExtractConfig
from probecast.features.plan import FeatureReads


@pytest.mark.parametrize("needs", [False, True])
def test_probe_path_scores_listed_paths_only_when_the_probe_reads_them(monkeypatch, needs):
    seen = []
    monkeypatch.setattr(latency, "time_floor", lambda *a: 1.0)
    monkeypatch.setattr(latency, "time_generative", lambda *a, **k: 10.0)
    monkeypatch.setattr(latency, "time_probe", lambda ckpt, tasks, cfg, probe, max_step, layer_ids=None:
                        seen.append((cfg, probe)) or 1.2)
    probe = SimpleNamespace(needs_alternatives=needs,
                            reads_=FeatureReads(layers=(3,), answer_loglik=True, alternatives=needs))
    out = latency.measure_latency(SimpleNamespace(id="step-1"), [], None, ExtractConfig(alternatives=True), probe,
                                  max_step=1.0, repeats=2)
    with_probe = [cfg for cfg, p in seen if p is probe]
    assert len(with_probe) == 2 and all(cfg.alternatives is needs for cfg in with_probe)
    assert all(not cfg.answer_loglik and not cfg.answer_pool for cfg, p in seen if p is None)  # hidden-states-only
    assert out["generative"] == 10.0 and out["probe"] == 1.2 and out["prefill_floor"] == 1.0


def test_ratios_are_minima_of_interleaved_rounds_with_spread(monkeypatch):
    order, floor, probe_t = [], iter([3.0, 1.0, 2.0, 9.0]), iter([3.3, 1.2, 2.1])
    monkeypatch.setattr(latency, "time_floor", lambda *a: order.append("floor") or next(floor))
    monkeypatch.setattr(latency, "time_generative", lambda *a, **k: order.append("gen") or 50.0)
    monkeypatch.setattr(latency, "time_probe", lambda ckpt, tasks, cfg, probe, max_step, layer_ids=None:
                        order.append("probe" if probe else "hidden") or (next(probe_t) if probe else 0.5))
    probe = SimpleNamespace(needs_alternatives=False, reads_=FeatureReads(layers=(2,)))
    lat = latency.measure_latency(SimpleNamespace(id="c"), [], None, ExtractConfig(), probe, max_step=1.0, repeats=3)
    assert order[1:5] == ["floor", "probe", "hidden", "gen"] and order[5:8] == ["floor", "probe", "hidden"]
    seconds, detail = latency.latency_summary(lat, "linear")
    assert seconds["prefill_floor"] == 1.0 and seconds["probe"] == 1.2  # the first floor call is the warm-up
    assert detail["spread_s"]["prefill_floor"] == 8.0 and abs(detail["probe_over_floor"] - 1.2) < 1e-12
    assert detail["probe_over_floor_range"] == [2.1 / 9.0, 3.3]  # rounds: 3.3/1, 1.2/2, 2.1/9
    assert "probe 1.20 s" in latency.describe(seconds, detail)


def test_the_record_says_when_other_jobs_were_running(monkeypatch):
    monkeypatch.setattr(latency, "time_floor", lambda *a: 1.0)
    monkeypatch.setattr(latency, "time_generative", lambda *a, **k: 10.0)
    monkeypatch.setattr(latency, "time_probe", lambda *a, **k: 1.1)
    probe = SimpleNamespace(needs_alternatives=False, reads_=FeatureReads(layers=(2,)))
    # the load average also counts our own work of the last minute (the demo's evaluation just before):
    # only what other processes keep busy says the machine is shared; without that sample, the load decides
    for load, others, says in ((0.1, 0.0, False), (3.7, 0.02, False), (3.7, 1.9, True), (3.7, None, True)):
        monkeypatch.setattr(latency, "machine_load", lambda load=load: load)
        monkeypatch.setattr(latency, "others_busy", lambda others=others: others)
        lat = latency.measure_latency(SimpleNamespace(id="c"), [], None, ExtractConfig(), probe, max_step=1.0,
                                      repeats=2)
        seconds, detail = latency.latency_summary(lat, "linear")
        assert detail["machine"]["load_before"] == load and detail["machine"]["torch_threads"] >= 1
        assert detail["machine"]["others_busy_before"] == others
        assert ("beside other jobs (" in latency.describe(seconds, detail)) is says


def test_others_busy_counts_other_processes_not_this_one():
    """`others_busy` is the machine's busy CPU minus this process's. Other jobs' load (other test workers, other
    agents) changes from one moment to the next, so its figure is never compared with another window's: it is
    compared with the machine's busy CPU, this process's and the other process's measured around the same call
    (`same_window`)."""
    if latency.others_busy(0.05) is None:
        pytest.skip("no /proc/stat here")
    stop = threading.Event()
    mine = threading.Thread(target=spin_until, args=(stop,))  # this process spinning
    mine.start()
    try:
        for others, machine_not_mine, _, margin in same_window(own_cpu):
            assert others <= machine_not_mine + margin  # had it counted this process's spinning: more by that much
    finally:
        stop.set()
        mine.join()
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # another process spinning
    try:
        for others, _, theirs, margin in same_window(lambda: process_cpu(spin.pid)):
            assert others >= theirs - margin  # all of the other process's CPU is in the figure
    finally:
        spin.kill()
        spin.wait()


def test_machine_busy_leaves_out_idle_iowait_and_steal():
    """user nice system idle iowait irq softirq steal guest guest_nice: steal is another virtual machine's time,
    guest is already inside user."""
    assert latency.busy_ticks("cpu  100 2 30 5000 40 5 6 700 50 1") == 100 + 2 + 30 + 5 + 6
    assert latency.busy_ticks("cpu  100 2 30 5000") == 132  # old kernels: four fields


def same_window(cpu_of: Callable[[], float]) -> Iterator[tuple[float, float, float, float]]:
    """Calls of `others_busy`, each measured around: CPU seconds over the call of (its figure x the call's wall
    time, the machine's busy CPU minus this process's, the CPU of the process `cpu_of` reads, the margin). The
    margin is what the counters cannot resolve: whole clock ticks (/proc/stat's five busy fields and `os.times`'
    two or the other process's two, each read at both ends, inside the call and around it: 16 at most), the
    figure's rounding to 0.01 core and the call's overrun of its window. A round settles the question once that
    process got more than twice the margin (a figure that counted this process would then exceed the bound by more
    than the margin; one that left the other process out would fall short of it unless other jobs' CPU made up
    for it); on a busy machine the window grows until it has, and a machine too busy to give it that much in 4 s
    skips the test (nothing could be told) rather than failing it."""
    tick = 1 / os.sysconf("SC_CLK_TCK")
    for window in (0.5, 1.0, 2.0, 4.0):
        b0, o0, c0, t0 = latency.machine_busy(), own_cpu(), cpu_of(), time.perf_counter()
        figure = latency.others_busy(window)
        b1, o1, c1, t1 = latency.machine_busy(), own_cpu(), cpu_of(), time.perf_counter()
        wall = t1 - t0
        margin = 16 * tick + 0.005 * wall + max(figure, 1.0) * (wall - window)
        yield figure * wall, (b1 - b0) - (o1 - o0), c1 - c0, margin
        if c1 - c0 > 2 * margin:
            return
    pytest.skip(f"the process measured got {c1 - c0:.2f} CPU s of a {wall:.1f} s window: too busy a machine to tell")


def spin_until(stop: threading.Event) -> None:
    while not stop.is_set():
        pass


def own_cpu() -> float:
    """This process's CPU seconds, every thread."""
    return sum(os.times()[:2])


def process_cpu(pid: int) -> float:
    """Another process's CPU seconds (/proc/<pid>/stat: utime + stime, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_generative_labelling_is_timed_in_the_labels_dtype(monkeypatch):
    seen = []
    monkeypatch.setattr(latency, "time_floor", lambda *a: 1.0)
    monkeypatch.setattr(latency, "time_probe", lambda *a, **k: 1.1)
    monkeypatch.setattr(latency, "time_generative", lambda ckpt, tasks, cfg, backend, dtype: seen.append(dtype) or 9.0)
    probe = SimpleNamespace(needs_alternatives=False, reads_=FeatureReads(layers=(2,)))
    lat = latency.measure_latency(SimpleNamespace(id="c"), [], None, ExtractConfig(), probe, max_step=1.0,
                                  repeats=2, generative_dtype="bfloat16")
    assert seen == ["bfloat16"] and latency.latency_summary(lat, "linear")[1]["generative_dtype"] == "bfloat16"


def test_hidden_states_only_path_of_an_answer_reading_probe_reads_the_prompt(monkeypatch):
    seen = {}
    monkeypatch.setattr(latency, "time_floor", lambda *a: 1.0)
    monkeypatch.setattr(latency, "time_probe", lambda ckpt, tasks, cfg, probe, max_step, layer_ids=None:
                        seen.setdefault("probe" if probe else "hidden", cfg) and 1.0)
    probe = SimpleNamespace(needs_alternatives=False, reads_=FeatureReads(layers=(1,), pooling="last_answer"))
    latency.measure_latency(SimpleNamespace(id="c"), [], None, ExtractConfig(layers=(0, 6, 12)), probe, max_step=1.0,
                            repeats=1, generative_backends=())
    assert seen["probe"].answer_pool and not seen["probe"].answer_loglik and seen["probe"].layers == (6,)
    assert not seen["hidden"].answer_pool and not seen["hidden"].answer_loglik and seen["hidden"].layers == (6,)
