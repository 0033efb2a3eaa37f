"""Trident (CLIP + DINO + SAM, "splice-then-segment"; docs/baselines/TRIDENT.md) as a registered method.

Importing this package registers ``trident``; torch loads only when a predictor is built.
"""
from __future__ import annotations

from ..registry import MethodSpec, register_method
from .settings import TridentSettings


def build_trident(settings: TridentSettings, device=None):
    """``TridentPredictor.from_settings`` (imported here: the registry stays torch-free)."""
    from .predictor import TridentPredictor
    return TridentPredictor.from_settings(settings, device=device)


TRIDENT = register_method(MethodSpec(
    name="trident", summary="Trident: CLIP + DINO + SAM, splice-then-segment (training-free OVSS)",
    paper="arXiv 2411.09219", settings_cls=TridentSettings, build=build_trident))

__all__ = ["TRIDENT", "TridentSettings", "build_trident"]
