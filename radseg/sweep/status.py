"""A sweep's files: ``sweep_status.json``, each run's ``failed.json``, the work-dir lock,
and the clean-up of temp files a killed run left behind."""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from ..errors import ConfigError
from ..results.records import atomic_write_text
from .plan import Run, _dedup, scaling

STATUS_FILE = "sweep_status.json"
LOCK_FILE = ".sweep.lock"
STATUS_SCHEMA = "radseg.sweep/1"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def counts(runs: Sequence[Run]) -> Dict[str, int]:
    c = {k: 0 for k in ("done", "skipped", "failed", "running", "pending", "interrupted")}
    for r in runs:
        c[r.state] = c.get(r.state, 0) + 1
    c["total"] = len(runs)
    return c


def write_status(root: Path, runs: Sequence[Run], args, started_at: str, finished: bool = False) -> None:
    status = {
        "schema": STATUS_SCHEMA, "work_dir": str(root.resolve()), "started_at": started_at,
        "updated_at": _now(), "finished": finished, "pid": os.getpid(),
        "command": [sys.executable, *sys.argv],
        "grid": {"datasets": _dedup(r.dataset for r in runs),
                 "resolutions": _dedup(r.resolution for r in runs),
                 "models": _dedup(r.model for r in runs),
                 "sam_refine": args.sam_refine, "lang_model": args.lang_model,
                 "scra_scaling": scaling(args, "scra_scaling"), "scga_scaling": scaling(args, "scga_scaling"),
                 "gpus": args.gpus, "parallel_mode": args.parallel_mode},
        "counts": counts(runs), "runs": [r.to_json() for r in runs],
    }
    atomic_write_text(root / STATUS_FILE, json.dumps(status, indent=2) + "\n")


_TRACEBACK_LAST = re.compile(r"^(?:\[rank\d+\]:\s*)?([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit))\b(:.*)?$")


def last_error_line(text: str) -> Optional[str]:
    """The most telling error line of a log: the last ``error: ...`` line (radseg's user
    errors), else the last exception line of a traceback, else the last non-empty line."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        s = ln.strip()
        if s.startswith("error: ") or re.match(r"^\[rank\d+\]:\s*error: ", s):
            return s
    for ln in reversed(lines):
        m = _TRACEBACK_LAST.match(ln.strip())
        if m and "ChildFailedError" not in m.group(1):
            return ln.strip()
    return lines[-1].strip() if lines else None


def clean_stale_tmp(run_dir: Path) -> None:
    """Remove temp files of atomic writes that a killed run left behind."""
    if not run_dir.is_dir():
        return
    for sub in (run_dir, run_dir / "results"):
        if sub.is_dir():
            for p in sub.glob(".*.tmp"):
                try:
                    p.unlink()
                except OSError:
                    pass


def write_failed(run: Run, log_path: Path) -> None:
    info = {"exit_code": run.exit_code, "error": run.error, "log": str(log_path),
            "duration_s": run.duration_s, "finished_at": run.finished_at,
            "command": shlex.join(run.command), "label": run.label}
    atomic_write_text(run.run_dir / "failed.json", json.dumps(info, indent=2) + "\n")


def remove_failed(run_dir: Path) -> None:
    try:
        (run_dir / "failed.json").unlink()
    except FileNotFoundError:
        pass


# -- lock ---------------------------------------------------------------------------------------------

class SweepLock:
    """An exclusive ``flock`` on ``<root>/.sweep.lock``: one sweep per work dir at a time.

    The kernel drops the lock when the process dies (even by SIGKILL), so a killed
    sweep never blocks the next one.
    """

    def __init__(self, root: Path):
        self.path = root / LOCK_FILE
        self.fd: Optional[int] = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = ""
            try:
                other = os.read(self.fd, 64).decode().strip()
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
            raise ConfigError(f"another sweep (pid {other or '?'}) is running in '{self.path.parent}'. "
                              f"Wait for it, or pick another --work-dir.") from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, str(os.getpid()).encode())
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
