"""The optional stage timer behind ``encoder.timer`` (RADSegEncoder and SAMRefiner).

``timer.stage(name)`` is a context manager; on CUDA it synchronises before and after
the stage (so a stage's time is its own kernels), on the CPU it reads ``perf_counter``.
With ``encoder.timer = None`` (the default) the encoder uses a shared no-op context.
"""
from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Dict, List

import torch


class StageTimer:
    """Accumulates milliseconds per stage name; :meth:`lap` closes one image/batch."""

    def __init__(self, device):
        self.cuda = torch.device(device).type == "cuda"
        self.current: Dict[str, float] = defaultdict(float)
        self.laps: List[Dict[str, float]] = []

    def _sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    @contextlib.contextmanager
    def stage(self, name: str):
        self._sync()
        t = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.current[name] += (time.perf_counter() - t) * 1000.0

    def lap(self) -> Dict[str, float]:
        done, self.current = dict(self.current), defaultdict(float)
        self.laps.append(done)
        return done


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed_ms(fn, device):
    """``(result, milliseconds)`` of ``fn()``, synchronised on CUDA."""
    sync(device)
    t = time.perf_counter()
    out = fn()
    sync(device)
    return out, (time.perf_counter() - t) * 1000.0


def count_syncs(fn, device):
    """``(result, number of device-host synchronisations)`` of ``fn()`` on CUDA (sync-debug mode)
    or ``(result, None)`` on the CPU, where there is nothing to count."""
    if torch.device(device).type != "cuda":
        return fn(), None
    import warnings
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            out = fn()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    n = sum(1 for w in caught if "synchroniz" in str(w.message).lower())
    return out, n
