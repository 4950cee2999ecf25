"""`probecast watch`: follow a run folder as training writes it, evaluate each new complete checkpoint once.

Loop: poll the run folder -> for each checkpoint-like folder not done yet, check completeness
(`completeness.py`) -> dispatch it to the executor (`monitor/compute.py`: load it, extract features, predict
per-task scores with intervals; here, or on a Ray worker with `--ray`, where new checkpoints run side by side)
-> as each finishes, this process stores its features and logs it to the sinks (`Monitor.record`, the one
writer) -> marks it done (`state.py`). A checkpoint that cannot be read
(deleted while waiting, corrupt weights) is logged and skipped, and retried only if its files change.

Signals: the first SIGINT/SIGTERM lets the checkpoint in progress finish (its records are logged, it is
marked done) and then exits; a second one abandons it at once: nothing of it reaches the log or the state,
so a restarted watcher redoes exactly that checkpoint.

Checkpoint ids are the folder names (as `probecast checkpoints` lists them). When the workspace already
records a checkpoint of that name from another folder (a second run watched into the same workspace), the
id is prefixed with the run folder's name so the two never share features or log lines.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from probecast.checkpoints.discover import blank_path, checkpoint_from_folder
from probecast.errors import ProbecastError
from probecast.executors import Executor, make_executor
from probecast.monitor.completeness import ReadyRule, StabilityTracker, candidates, marker_ready
from probecast.monitor.evaluator import Monitor
from probecast.monitor.state import WatchState
from probecast.ui import console as make_console
from probecast.workspace import safe_name


@dataclass(frozen=True)
class WatchConfig:
    interval: float = 30.0  # seconds between polls
    once: bool = False  # process what is complete now, then exit
    settle: float = 2.0  # --once: seconds between the two polls that establish stability
    rule: ReadyRule = ReadyRule()
    max_polls: int | None = None  # stop after this many polls (tests); None = until stopped


class Watcher:
    def __init__(self, monitor: Monitor, run_dir: str | Path, cfg: WatchConfig, console: Console | None = None,
                 executor: Executor | None = None) -> None:
        self.monitor, self.cfg = monitor, cfg
        self.executor = executor or make_executor()
        self.slots = None if self.executor.concurrent else 1  # checkpoints evaluated at once
        self.inflight: dict = {}  # executor handle -> (folder, step, checkpoint, signature)
        self.ws = monitor.ws
        self.run_dir = Path(run_dir)
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ProbecastError(f"{self.run_dir}: not a folder; give the folder the training run writes its "
                                 f"checkpoints into")
        if cfg.once and not self.run_dir.is_dir():
            raise ProbecastError(f"{self.run_dir}: no such run folder (without --once the watcher waits for it)")
        self.state = WatchState(self.ws, monitor.probe_name)
        self.stability = StabilityTracker()
        self.console = console or make_console(stderr=True)  # in a log: no width limit, ids whole
        self.stop_requested = False
        self._signals = 0
        recovered = self.state.reconcile([t.name for t in monitor.tasks])
        for c in recovered:
            self.say(f"[yellow]{c}[/]: already in the log (previous watcher stopped before recording it); not redone")
        monitor.n_evaluations = self.state.n_done()  # the audit schedule (every Mth) continues across restarts

    def say(self, text: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {text}")

    # ---- ids ---------------------------------------------------------------------------------------------
    def checkpoint_id(self, folder: Path) -> str:
        records = {r["id"]: r for r in self.ws.read_checkpoints()}
        prefixed = f"{safe_name(self.run_dir.resolve().name)}-{folder.name}"
        if prefixed in records:
            return prefixed
        plain = records.get(folder.name)
        recorded = (plain or {}).get("path")  # a record without a path is not this folder's
        if plain is not None and (blank_path(recorded) or Path(str(recorded).strip()).resolve() != folder.resolve()):
            return prefixed
        return folder.name

    # ---- one poll ----------------------------------------------------------------------------------------
    def ready(self) -> list[tuple[Path, int, str]]:
        """(folder, step, id) of checkpoints that are complete now and not done (nor failed unchanged)."""
        out = []
        for folder, step in candidates(self.run_dir):
            ckpt_id = self.checkpoint_id(folder)
            if self.state.is_done(ckpt_id) or any(c.id == ckpt_id for _, _, c, _ in self.inflight.values()):
                continue
            stable, sig = self.stability.observe(folder)
            ok, _ = marker_ready(folder, step, self.run_dir, self.cfg.rule)
            if stable and ok and not self.state.failed_unchanged(ckpt_id, sig):
                out.append((folder, step, ckpt_id))
        return out

    def pending(self) -> list[str]:
        """Checkpoint-like folders that are neither done nor failed (e.g. still being written)."""
        return [f.name for f, _ in candidates(self.run_dir)
                if self.checkpoint_id(f) not in self.state.checkpoints]

    def dispatch(self, folder: Path, step: int, ckpt_id: str) -> bool:
        """Send one checkpoint to the executor (evaluated here or on a Ray worker); False when it was skipped."""
        from probecast.monitor.compute import evaluate_checkpoint
        from probecast.pipeline import portable

        sig = self.stability.previous.get(str(folder))
        try:
            ckpt = dataclasses.replace(checkpoint_from_folder(folder, step), id=ckpt_id)
        except (ProbecastError, OSError) as exc:
            return self._failed(folder, step, ckpt_id, sig, f"cannot be read ({exc})")
        step = ckpt.step if ckpt.step is not None else step
        handle = self.executor.submit(evaluate_checkpoint, self.monitor.spec, portable(ckpt), step, ckpt_id,
                                      self.monitor.audit_due(ahead=len(self.inflight)))
        self.inflight[handle] = (folder, step, ckpt, sig)
        return True

    def collect(self, timeout: float | None = 0) -> int:
        """Record the dispatched checkpoints that finished (waiting up to `timeout` s for the first; None: until
        one does); returns how many were evaluated."""
        done = 0
        for handle, ev, error in self.executor.wait(list(self.inflight), timeout=timeout) if self.inflight else []:
            folder, step, ckpt, sig = self.inflight.pop(handle)
            if error is not None:
                self._failed(folder, step, ckpt.id, sig, error)
                continue
            records = self.monitor.record(ev)
            self.ws.add_checkpoints([ckpt.to_record()])
            self.state.mark_done(ckpt.id, step, folder)
            scores = ", ".join(f"{r['task']} {r['pred_pass1']:.3f} [{r['pred_pass1_lo']:.3f}, "
                               f"{r['pred_pass1_hi']:.3f}]" for r in records)
            self.say(f"[green]{ckpt.id}[/] step {step}: {scores}  ({records[0]['eval_latency_s']:.1f}s)")
            if records and records[0].get("refit_to"):
                self.say(f"[yellow]drift[/]: probe refitted on every label -> {records[0]['refit_to']} "
                         "(used from the next dispatched checkpoint on)")
            done += 1
        return done

    def process(self, folder: Path, step: int, ckpt_id: str) -> bool:
        """Evaluate one checkpoint now (dispatch and wait for it); False when it was skipped (deleted / corrupt)."""
        if not self.dispatch(folder, step, ckpt_id):
            return False
        while any(c.id == ckpt_id for _, _, c, _ in self.inflight.values()):
            self.collect(timeout=None)
        return self.state.is_done(ckpt_id)

    def _failed(self, folder: Path, step: int, ckpt_id: str, sig, error: str) -> bool:
        if not folder.exists():
            self.say(f"[red]{ckpt_id}[/]: deleted before it could be evaluated; skipped")
            return False
        self.state.mark_failed(ckpt_id, step, folder, sig, error)
        self.say(f"[red]{ckpt_id}[/]: {error}; skipped until its files change")
        return False

    # ---- loop --------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Watch until stopped (or once); returns the number of checkpoints evaluated now.

        Each ready checkpoint is dispatched at once; with one slot (this process) it is evaluated before the
        next is dispatched, on Ray they run side by side and are recorded as they finish."""
        previous = self._install_signals()
        done = polls = 0
        try:
            self.say(f"watching {self.run_dir} with probe {self.monitor.probe_name!r} on {self.executor.where} "
                     f"({self.state.n_done()} checkpoint(s) already done); Ctrl-C to stop")
            if self.cfg.once:
                self.ready()  # first look; stability needs a second one
                self._sleep(self.cfg.settle)
            while not self.stop_requested:
                for folder, step, ckpt_id in self.ready():
                    if self.stop_requested:
                        break
                    self.dispatch(folder, step, ckpt_id)
                    while self.slots is not None and len(self.inflight) >= self.slots:
                        done += self.collect(timeout=None)
                done += self.collect(timeout=0)
                polls += 1
                if self.cfg.once or (self.cfg.max_polls is not None and polls >= self.cfg.max_polls):
                    break
                done += self._sleep(self.cfg.interval)
            while self.inflight:  # stopping: the checkpoints in progress finish and are recorded
                done += self.collect(timeout=None)
            left = self.pending()
            if left:
                self.say(f"not evaluated yet: {', '.join(left)}")
        finally:
            self._restore_signals(previous)
            self.monitor.close()
            from probecast.features.shared_prefix import process_states
            process_states().clear()  # the kept states (up to 4 GiB) go with the watch, not with the process
        return done

    def _sleep(self, seconds: float) -> int:
        """Wait `seconds` (or until stopped), recording dispatched checkpoints as they finish."""
        end, done = time.monotonic() + seconds, 0
        while not self.stop_requested and time.monotonic() < end:
            step = min(0.2, max(end - time.monotonic(), 0))
            if self.inflight:
                done += self.collect(timeout=step)
            else:
                time.sleep(step)
        return done

    def _on_signal(self, signum, frame) -> None:
        self._signals += 1
        self.stop_requested = True
        if self._signals == 1:
            self.say(f"{signal.Signals(signum).name}: finishing the checkpoint in progress, then stopping "
                     f"(send it again to abandon it)")
        else:
            self.say(f"{signal.Signals(signum).name}: abandoning the checkpoint in progress")
            raise KeyboardInterrupt

    def _install_signals(self) -> dict:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def _restore_signals(self, previous: dict) -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

