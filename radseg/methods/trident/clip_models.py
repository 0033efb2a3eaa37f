"""Trident's CLIP: ``open_clip.create_model('ViT-B/16', pretrained='openai')`` through :mod:`radseg.methods.clip`."""
from __future__ import annotations

from typing import Optional

from ..clip import build_clip


def build_trident_clip(model_version: str, weights: Optional[str] = None, precision: str = "fp32"):
    """The CLIP of a Trident ``model_version`` (``ViT-B/16``, ``ViT-B/16-random``, ``tiny-random``):
    a :class:`radseg.methods.clip.LoadedClip` (``.model``, ``.info``)."""
    return build_clip(model_version, weights, precision=precision)
