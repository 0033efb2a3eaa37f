"""Trident's CLIP vision forward up to the last block (TRIDENT.md step 9, first half; traps T4, T6).

On :mod:`radseg.methods.clip.vision` (open_clip's ``VisionTransformer`` weights): conv1, CLS
prepended, position embeddings interpolated like DINO's (bicubic, ``scale_factor = (g + 0.1) / 14``)
whenever the token count differs from 197, ``ln_pre``, blocks 1..L-1 unchanged, then the CLS token
dropped *before* the last block, which Trident replaces (:mod:`.attention`).
"""
from __future__ import annotations

import torch

from ..clip import vision


def clip_tokens_before_last_block(visual, crops: torch.Tensor) -> torch.Tensor:
    """``n x 3 x c x c`` CLIP-normalised crops -> ``n x (c/P)^2 x C`` tokens entering the last block (CLS dropped)."""
    x, _, _ = vision.embed(visual, crops)
    x = vision.run_blocks(visual, x, len(vision.blocks(visual)) - 1)
    return x[:, 1:]


def clip_head(visual, y: torch.Tensor) -> torch.Tensor:
    """``ln_post`` and ``@ proj``: ``N x C`` -> ``N x D`` (D = 512 for ViT-B/16)."""
    return vision.project(visual, y)
