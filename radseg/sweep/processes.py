"""Running a sweep: one ``eval.py`` subprocess per run in its own process group, GPU
slots for side-by-side runs, and the :class:`Sweep` executor with its progress and ETA.

A crash, OOM or CUDA error in a run ends that subprocess only; this module runs no
CUDA work itself (it only counts the visible GPUs for ``--gpus``).
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..errors import ConfigError
from ..results.records import load_record
from .plan import Run, completed_record
from .status import (
    STATUS_FILE,
    _now,
    clean_stale_tmp,
    counts,
    fmt_duration,
    last_error_line,
    remove_failed,
    write_failed,
    write_status,
)

#: exit status of a sweep in which at least one run failed (usage errors give 2).
EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130


class SweepInterrupted(Exception):
    """SIGINT/SIGTERM while runs are going."""


# -- running ------------------------------------------------------------------------------------------

def _load_libc():
    try:
        import ctypes
        return ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
    except OSError:  # pragma: no cover
        return None


_LIBC = _load_libc()


def _child_setup():  # pragma: no cover - runs in the child
    """In the child, before exec: its own process group (the sweep can kill a run with its
    torchrun workers) and, on Linux, SIGTERM when the sweep dies, so a killed sweep leaves
    no run behind that would race the resumed one."""
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def gpu_ids(n: int, cpu: bool = False) -> List[str]:
    """The N device ids for side-by-side runs: the first N of CUDA_VISIBLE_DEVICES, else 0..N-1
    (``cpu``: the labels cpu0..cpuN-1; the runs then see no GPU)."""
    if cpu:
        return [f"cpu{i}" for i in range(n)]
    visible = [x.strip() for x in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if x.strip()]
    if len(visible) >= n:
        return visible[:n]
    return [str(i) for i in range(n)]


def visible_gpu_count() -> int:
    """CUDA GPUs this process can see (0 without CUDA); the runs are subprocesses, so asking here
    leaves no CUDA state behind that matters."""
    try:
        import torch
        return int(torch.cuda.device_count())
    except Exception:  # noqa: BLE001 - no torch / broken driver: no GPU
        return 0


def check_gpus(args) -> None:
    """``--gpus N`` needs N visible GPUs (not with ``--cpu``, nor for slurm: the GPUs are on the nodes)."""
    if not getattr(args, "gpus_given", False) or args.cpu or args.parallel_mode == "slurm":
        return
    n = visible_gpu_count()
    if n == 0:
        raise ConfigError(f"--gpus {args.gpus}: this machine has no CUDA GPU (torch.cuda.device_count() is 0). "
                          f"Drop --gpus to run one run at a time here, or add --cpu to run {args.gpus} CPU "
                          f"processes.")
    if n < args.gpus:
        cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise ConfigError(f"--gpus {args.gpus}: only {n} CUDA GPU(s) visible"
                          + (f" (CUDA_VISIBLE_DEVICES={cvd})" if cvd is not None else "")
                          + f"; use --gpus {n} or fewer.")


@dataclass
class _Active:
    run: Run
    proc: Optional[subprocess.Popen]  # None: it could not be started
    log: Any
    log_path: Path
    log_start: int
    t0: float
    slot: int


class Sweep:
    def __init__(self, args, runs: List[Run], out=None):
        self.args = args
        self.runs = runs
        self.root = Path(args.work_dir)
        self.out = out or sys.stdout
        self.started_at = _now()
        self.durations: List[float] = []
        self.data_info: Dict[str, str] = {}  # dataset -> "folder (N images)", said when its runs start

    def say(self, msg: str) -> None:
        print(msg, file=self.out, flush=True)

    def save(self, finished: bool = False) -> None:
        write_status(self.root, self.runs, self.args, self.started_at, finished)

    # progress ---------------------------------------------------------------------------------
    def progress(self, active: Sequence[_Active], slots: int) -> str:
        c = counts(self.runs)
        to_go = c["pending"] + c["running"]
        line = f"{c['done']} done, {c['failed']} failed, {c['skipped']} skipped, {to_go} to go"
        if to_go and self.durations:
            mean = sum(self.durations) / len(self.durations)
            now = time.time()
            work = c["pending"] * mean + sum(max(mean - (now - a.t0), 0.0) for a in active)
            line += f", ETA {fmt_duration(work / max(slots, 1))}"
        return line

    # one run ----------------------------------------------------------------------------------
    def start(self, run: Run, slot: int, gpu: Optional[str]) -> _Active:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(run.run_dir)
        log_path = run.run_dir / "eval.log"
        log = open(log_path, "ab")
        header = f"\n===== {_now()} sweep run [{run.index}/{len(self.runs)}] {run.label}\n" \
                 f"===== {shlex.join(run.command)}\n"
        log.write(header.encode())
        log.flush()
        log_start = log.tell()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if getattr(self.args, "cpu", False):
            env["CUDA_VISIBLE_DEVICES"] = ""
        elif gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        t0 = time.time()
        try:
            proc = subprocess.Popen(run.command, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, preexec_fn=_child_setup)
        except OSError as e:  # e.g. srun not on PATH: this run fails, the sweep goes on
            log.write(f"error: cannot start {run.command[0]}: {e.strerror or e}\n".encode())
            log.flush()
            return _Active(run, None, log, log_path, log_start, t0, slot)
        run.state, run.gpu, run.pid = "running", gpu, proc.pid
        run.started_at, run.exit_code, run.error, run.duration_s = _now(), None, None, None
        on = "" if gpu is None else f" on {gpu}" if gpu.startswith("cpu") else f" on GPU {gpu}"
        self.say(f"[{run.index}/{len(self.runs)}] {run.label}{on} ({run.reason}) -> {log_path}")
        data = (self.data_info or {}).get(run.dataset)
        if data:
            self.say(f"    data: {data}")
        self.save()
        return _Active(run, proc, log, log_path, log_start, t0, slot)

    def finish(self, a: _Active, rc: int, timed_out: bool = False) -> None:
        run = a.run
        a.log.close()
        run.duration_s = round(time.time() - a.t0, 2)
        run.finished_at, run.exit_code, run.pid = _now(), rc, None
        ok, why = completed_record(run, self.args)
        rec = load_record(run.run_dir / "result.json") if ok else None
        fresh = ok and (run.run_dir / "result.json").stat().st_mtime >= a.t0 - 1
        if rc == 0 and ok and fresh:
            run.state, run.error = "done", None
            run.metrics = (rec or {}).get("metrics")
            remove_failed(run.run_dir)
            self.durations.append(run.duration_s)
            m = run.metrics or {}
            summary = "  ".join(f"{k} {m.get(k)}" for k in ("mIoU", "aAcc", "mAcc"))
            self.say(f"[{run.index}/{len(self.runs)}] done in {fmt_duration(run.duration_s)}: {summary}")
        else:
            try:
                with open(a.log_path, "rb") as f:
                    f.seek(a.log_start)
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                text = ""
            if timed_out:
                err = f"timed out after {fmt_duration(self.args.run_timeout)} (--run-timeout); killed"
            elif rc < 0:
                name = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
                err = f"killed by {name}" + (" (out of memory?)" if -rc == signal.SIGKILL else "")
                last = last_error_line(text)
                if last:
                    err += f"; last log line: {last}"
            elif rc == 0:
                err = f"exited 0 but left no complete, matching result.json ({why})"
            else:
                err = last_error_line(text) or f"exit status {rc}, empty log"
            run.state, run.error = "failed", err
            write_failed(run, a.log_path)
            self.say(f"[{run.index}/{len(self.runs)}] FAILED (exit {rc}) after "
                     f"{fmt_duration(run.duration_s)}: {err}\n    log: {a.log_path}")
        self.save()

    # the loop ---------------------------------------------------------------------------------
    def execute(self) -> int:
        args = self.args
        n = len(self.runs)
        for run in self.runs:
            done, why = completed_record(run, args)
            if done and not args.force:
                run.state, run.reason = "skipped", why
                run.metrics = (load_record(run.run_dir / "result.json") or {}).get("metrics")
                remove_failed(run.run_dir)
            else:
                run.state = "pending"
                run.reason = "--force" if (done and args.force) else (
                    "failed before" if (run.run_dir / "failed.json").exists() else why)
        skipped = [r for r in self.runs if r.state == "skipped"]
        todo = [r for r in self.runs if r.state == "pending"]
        side_by_side = args.parallel_mode == "runs" and args.gpus > 1
        slots = args.gpus if side_by_side else 1
        gpus = gpu_ids(args.gpus, cpu=args.cpu) if side_by_side else [None]
        mode = (f"{slots} runs side by side" if side_by_side else
                f"one run at a time over {args.gpus} processes ({args.parallel_mode})"
                if args.gpus > 1 else "one run at a time")
        self.say(f"sweep: {n} runs ({len(todo)} to run, {len(skipped)} already complete) in "
                 f"{self.root}, {mode}" + (" on the CPU" if args.cpu else ""))
        data = getattr(args, "resolved_data", None)
        if data is not None:
            self.say(f"data folder: {data.describe()}")
        for r in skipped:
            self.say(f"[{r.index}/{n}] {r.label}: skipped ({r.reason})")
        self.save()

        pending = list(todo)
        active: List[_Active] = []
        free = list(range(slots))
        try:
            while pending or active:
                while pending and free:
                    slot = free.pop(0)
                    active.append(self.start(pending.pop(0), slot, gpus[slot]))
                time.sleep(0.2)
                for a in list(active):
                    rc = a.proc.poll() if a.proc is not None else 127
                    timed_out = False
                    if rc is None and args.run_timeout and time.time() - a.t0 > args.run_timeout:
                        _kill_group(a.proc)
                        rc, timed_out = a.proc.wait(), True
                    if rc is None:
                        continue
                    active.remove(a)
                    free.append(a.slot)
                    free.sort()
                    self.finish(a, rc, timed_out)
                    self.say(f"    {self.progress(active, slots)}")
        except (KeyboardInterrupt, SweepInterrupted):
            for a in active:
                if a.proc is not None:
                    _kill_group(a.proc)
                a.log.close()
                a.run.state, a.run.pid = "interrupted", None
                a.run.error = "interrupted (the sweep was stopped)"
            self.save(finished=False)
            c = counts(self.runs)
            self.say(f"interrupted: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped, "
                     f"{c['interrupted'] + c['pending']} not run. Run the same command again to resume.")
            return EXIT_INTERRUPTED
        self.save(finished=True)
        c = counts(self.runs)
        self.say(f"sweep finished: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped "
                 f"of {n}. Status: {self.root / STATUS_FILE}")
        failed = [r for r in self.runs if r.state == "failed"]
        if failed:
            self.say("failed runs (see failed.json and eval.log in each folder):")
            for r in failed:
                self.say(f"  {r.label}: {r.error}\n    {r.run_dir}")
            return EXIT_RUNS_FAILED
        self.say(f"table: radseg results {self.root}")
        return 0

