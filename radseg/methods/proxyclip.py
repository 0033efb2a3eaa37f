"""ProxyCLIP: registered by name only, until its specification (docs/baselines/PROXYCLIP.md) arrives."""
from __future__ import annotations

from .registry import MethodSpec, register_method

PROXYCLIP = register_method(MethodSpec(
    name="proxyclip", summary="ProxyCLIP: CLIP with a vision foundation model's proxy attention (ECCV 2024)",
    paper="arXiv 2408.04883",
    unavailable="its specification (docs/baselines/PROXYCLIP.md) is not in this release yet, so no exact "
                "implementation exists; use --method naclip, trident or radseg."))
