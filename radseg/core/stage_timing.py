"""The optional stage timer hook shared by every predictor (``radseg bench`` sets it).

A predictor (or RADSeg's encoder) keeps ``timer = None``; the bench sets it to an object with
``stage(name) -> context manager`` (:class:`radseg.bench.timing.StageTimer` for milliseconds, the
FLOP counter's stages for FLOPs). With no timer, :func:`stage` returns one shared no-op context, so
the algorithm path runs exactly as without the hook (no synchronisation, no allocation).
"""
from __future__ import annotations

import contextlib

NULL_STAGE = contextlib.nullcontext()  # reusable: entering and leaving it does nothing


def stage(timer, name: str):
    """``timer.stage(name)``, or the shared no-op when ``timer`` is None."""
    return NULL_STAGE if timer is None else timer.stage(name)
