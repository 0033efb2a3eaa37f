"""RADSeg (and RADSeg+ with ``sam_refine``) as a registered method: settings are :class:`RADSegConfig`."""
from __future__ import annotations

from ..config import RADSegConfig
from .registry import MethodSpec, register_method


def build_radseg(settings: RADSegConfig, device=None):
    """``RADSegPredictor.from_config`` (imported here: the registry stays torch-free)."""
    from ..predictor import RADSegPredictor
    return RADSegPredictor.from_config(settings, device=device)


RADSEG = register_method(MethodSpec(
    name="radseg", summary="RADSeg: RADIO with SCRA, sliding windows, SCGA (RADSeg+ with sam_refine)",
    paper="arXiv 2511.19704", settings_cls=RADSegConfig, build=build_radseg))
