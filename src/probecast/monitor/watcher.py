"""`probecast watch`: follow a run folder as training writes it, evaluate each new complete checkpoint once.

Loop: poll the run folder -> for each checkpoint-like folder not done yet, check completeness
(`completeness.py`) -> load it, extract features (stored in the workspace), predict per-task scores with
intervals, log them to the sinks (`Monitor`) -> mark it done (`state.py`). A checkpoint that cannot be read
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

from probecast.checkpoints.discover import checkpoint_from_folder
from probecast.errors import ProbecastError
from probecast.monitor.completeness import ReadyRule, StabilityTracker, candidates, marker_ready
from probecast.monitor.evaluator import Monitor
from probecast.monitor.state import WatchState
from probecast.workspace import safe_name


@dataclass(frozen=True)
class WatchConfig:
    interval: float = 30.0  # seconds between polls
    once: bool = False  # process what is complete now, then exit
    settle: float = 2.0  # --once: seconds between the two polls that establish stability
    rule: ReadyRule = ReadyRule()
    max_polls: int | None = None  # stop after this many polls (tests); None = until stopped


class Watcher:
    def __init__(self, monitor: Monitor, run_dir: str | Path, cfg: WatchConfig, console: Console | None = None) -> None:
        self.monitor, self.cfg = monitor, cfg
        self.ws = monitor.ws
        self.run_dir = Path(run_dir)
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ProbecastError(f"{self.run_dir}: not a folder; give the folder the training run writes its "
                                 f"checkpoints into")
        if cfg.once and not self.run_dir.is_dir():
            raise ProbecastError(f"{self.run_dir}: no such run folder (without --once the watcher waits for it)")
        self.state = WatchState(self.ws, monitor.probe_name)
        self.stability = StabilityTracker()
        self.console = console or Console(stderr=True)
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
        if plain is not None and Path(plain["path"]).resolve() != folder.resolve():
            return prefixed
        return folder.name

    # ---- one poll ----------------------------------------------------------------------------------------
    def ready(self) -> list[tuple[Path, int, str]]:
        """(folder, step, id) of checkpoints that are complete now and not done (nor failed unchanged)."""
        out = []
        for folder, step in candidates(self.run_dir):
            ckpt_id = self.checkpoint_id(folder)
            if self.state.is_done(ckpt_id):
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

    def process(self, folder: Path, step: int, ckpt_id: str) -> bool:
        """Evaluate one checkpoint; False when it was skipped (deleted / corrupt)."""
        from probecast.checkpoints.load import free_model, load_model

        sig = self.stability.previous.get(str(folder))
        try:
            ckpt = dataclasses.replace(checkpoint_from_folder(folder, step), id=ckpt_id)
            t0 = time.perf_counter()
            model, tokenizer = load_model(ckpt)
            load_s = time.perf_counter() - t0
        except (ProbecastError, OSError) as exc:
            if not folder.exists():
                self.say(f"[red]{ckpt_id}[/]: deleted before it could be evaluated; skipped")
                return False
            self.state.mark_failed(ckpt_id, step, folder, sig, str(exc))
            self.say(f"[red]{ckpt_id}[/]: cannot be read, skipped until its files change ({exc})")
            return False
        try:
            step = ckpt.step if ckpt.step is not None else step
            records = self.monitor.evaluate(model, tokenizer, step, checkpoint=ckpt_id, source="watch",
                                            load_s=load_s)
        except ProbecastError as exc:
            self.state.mark_failed(ckpt_id, step, folder, sig, str(exc))
            self.say(f"[red]{ckpt_id}[/]: evaluation failed, skipped ({exc})")
            return False
        finally:
            free_model(model)
        self.ws.add_checkpoints([ckpt.to_record()])
        self.state.mark_done(ckpt_id, step, folder)
        scores = ", ".join(f"{r['task']} {r['pred_pass1']:.3f} [{r['pred_pass1_lo']:.3f}, {r['pred_pass1_hi']:.3f}]"
                           for r in records)
        self.say(f"[green]{ckpt_id}[/] step {step}: {scores}  ({records[0]['eval_latency_s']:.1f}s)")
        if records and records[0].get("refit_to"):
            self.say(f"[yellow]drift[/]: probe refitted on every label -> {records[0]['refit_to']} (used from now on)")
        return True

    # ---- loop --------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Watch until stopped (or once); returns the number of checkpoints evaluated now."""
        previous = self._install_signals()
        done = polls = 0
        try:
            self.say(f"watching {self.run_dir} with probe {self.monitor.probe_name!r} "
                     f"({self.state.n_done()} checkpoint(s) already done); Ctrl-C to stop")
            if self.cfg.once:
                self.ready()  # first look; stability needs a second one
                self._sleep(self.cfg.settle)
            while not self.stop_requested:
                for folder, step, ckpt_id in self.ready():
                    if self.stop_requested:
                        break
                    done += self.process(folder, step, ckpt_id)
                polls += 1
                if self.cfg.once or (self.cfg.max_polls is not None and polls >= self.cfg.max_polls):
                    break
                self._sleep(self.cfg.interval)
            left = self.pending()
            if left:
                self.say(f"not evaluated yet: {', '.join(left)}")
        finally:
            self._restore_signals(previous)
            self.monitor.close()
        return done

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stop_requested and time.monotonic() < end:
            time.sleep(min(0.2, max(end - time.monotonic(), 0)))

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

