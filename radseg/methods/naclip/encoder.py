"""The CLIP visual tower with NACLIP's last block: a window -> patch features (spec 3.2).

``x``: ``1 x 3 x Hc x Wc`` CLIP-normalised window (any size; the remainder pixels are dropped by the
patch embedding) -> ``1 x hp*wp x E`` features (CLS dropped), ``hp = Hc // P``, ``wp = Wc // P``.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn

from ..clip import vision
from .attention import naclip_last_block


def encode_window(visual: nn.Module, x: torch.Tensor, std: float, arch: str = "reduced",
                  strategy: str = "naclip") -> Tuple[torch.Tensor, int, int]:
    """``(1 x hp*wp x E features, hp, wp)``: embed, blocks 1..L-1 unchanged, NACLIP's block L,
    ``ln_post @ proj`` on all tokens, CLS dropped."""
    tokens, hp, wp = vision.embed(visual, x)
    blocks = vision.blocks(visual)
    tokens = vision.run_blocks(visual, tokens, len(blocks) - 1)
    tokens = naclip_last_block(blocks[-1], tokens, hp, wp, std, arch, strategy)
    return vision.project(visual, tokens)[:, 1:], hp, wp
