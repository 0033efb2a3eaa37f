"""The CLIP visual tower step by step, for methods that replace its last block.

Shapes: ``x`` is ``B x 3 x Hc x Wc`` (CLIP-normalised); tokens are batch-first ``B x N x D`` with
``N = 1 + hp * wp`` (CLS first, patches row-major). open_clip 3.x's blocks are batch-first; the
state-dict layout is OpenAI's.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def patch_embed(visual: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, int, int]:
    """``conv1`` (stride = patch, no bias) + the CLS embedding prepended: ``(B x N x D, hp, wp)``.

    ``hp = floor(Hc / P)``, ``wp = floor(Wc / P)``: the bottom and right remainder pixels are dropped
    by the strided convolution. Tokens are flattened row-major (index ``r * wp + c``).
    """
    dtype = compute_dtype_of(visual)
    g = visual.conv1(x.to(dtype))                           # B x D x hp x wp
    b, d, hp, wp = g.shape
    g = g.reshape(b, d, hp * wp).permute(0, 2, 1)           # B x hp*wp x D
    cls = visual.class_embedding.to(dtype) + torch.zeros(b, 1, d, dtype=dtype, device=g.device)
    return torch.cat([cls, g], dim=1), hp, wp


def compute_dtype_of(visual: nn.Module) -> torch.dtype:
    return visual.conv1.weight.dtype


def interpolate_pos_embed(pos: torch.Tensor, hp: int, wp: int) -> torch.Tensor:
    """The stored ``(1 + g*g) x D`` table for an ``hp x wp`` grid, as NACLIP and Trident do.

    * ``1 + hp*wp == 1 + g*g`` (197 for ViT-B/16): the table **as is**. Only the token count is
      tested, so a 7x28 grid reads the 14x14 table in raster order (the releases' quirk).
    * otherwise the CLS row is kept and the ``g x g`` patch rows are resized with **bicubic**,
      ``align_corners=False``, ``scale_factor=((hp + 0.1) / g, (wp + 0.1) / g)``,
      ``recompute_scale_factor=False``: the sampling grid is ``src = (dst + 0.5) * g / (hp + 0.1) - 0.5``,
      not ``* g / hp`` (what ``size=(hp, wp)`` would give). Output ``floor(hp + 0.1) = hp`` rows.

    Computed in the table's dtype (fp32: the releases keep it an fp32 parameter); returns
    ``(1 + hp*wp) x D``, patch rows row-major.
    """
    n = pos.shape[0] - 1
    if n == hp * wp:
        return pos
    g = int(round(n ** 0.5))
    d = pos.shape[1]
    grid = pos[1:].reshape(1, g, g, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((hp + 0.1) / g, (wp + 0.1) / g), mode="bicubic",
                         align_corners=False, recompute_scale_factor=False)
    assert grid.shape[-2:] == (hp, wp), (grid.shape, hp, wp)
    grid = grid.permute(0, 2, 3, 1).reshape(hp * wp, d)
    return torch.cat([pos[:1], grid], dim=0)


def embed(visual: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, int, int]:
    """Patch embedding + (interpolated) position embedding + ``ln_pre``: ``(B x N x D, hp, wp)``."""
    tokens, hp, wp = patch_embed(visual, x)
    tokens = tokens + interpolate_pos_embed(visual.positional_embedding, hp, wp).to(tokens.dtype)
    return visual.ln_pre(tokens), hp, wp


def blocks(visual: nn.Module) -> nn.ModuleList:
    """The residual attention blocks (``ln_1``, ``attn`` = ``nn.MultiheadAttention``, ``ln_2``, ``mlp``)."""
    return visual.transformer.resblocks


def run_blocks(visual: nn.Module, x: torch.Tensor, stop: int) -> torch.Tensor:
    """Blocks ``0 .. stop-1`` unchanged (vanilla CLIP: ``x += MHA(ln_1 x); x += MLP(ln_2 x)``), ``B x N x D``."""
    for blk in list(blocks(visual))[:stop]:
        x = blk(x)
    return x


def project(visual: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``ln_post(x) @ proj`` for every token: ``B x N x D -> B x N x E``."""
    return visual.ln_post(x) @ visual.proj


__all__ = ["blocks", "compute_dtype_of", "embed", "interpolate_pos_embed", "patch_embed", "project", "run_blocks"]
