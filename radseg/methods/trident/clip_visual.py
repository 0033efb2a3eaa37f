"""Trident's CLIP vision forward up to the last block (TRIDENT.md step 9, first half; traps T4, T6).

Works on an open_clip ``VisionTransformer`` (``conv1``, ``class_embedding``, ``positional_embedding``,
``ln_pre``, ``transformer.resblocks``, ``ln_post``, ``proj``): conv1, CLS prepended, position
embeddings interpolated like DINO's when the token count differs from the 14 x 14 + 1 of training,
``ln_pre``, blocks 1..L-1 unchanged, then the CLS token dropped *before* the last block.
"""
from __future__ import annotations

import torch

from .posemb import interpolate_pos_embed


def clip_tokens_before_last_block(visual, crops: torch.Tensor) -> torch.Tensor:
    """``n x 3 x c x c`` CLIP-normalised crops -> ``n x (c/P)^2 x C`` tokens entering the last block (CLS dropped)."""
    dt = visual.conv1.weight.dtype
    x = visual.conv1(crops.to(dt))  # n x C x g x g
    n, C, gh, gw = x.shape
    x = x.reshape(n, C, gh * gw).permute(0, 2, 1)
    cls = visual.class_embedding.to(x.dtype) + torch.zeros(n, 1, C, dtype=x.dtype, device=x.device)
    x = torch.cat([cls, x], dim=1)
    pos = interpolate_pos_embed(visual.positional_embedding[None], gh * gw, gh, gw)
    x = x + pos.to(x.dtype)
    x = visual.ln_pre(x)
    blocks = visual.transformer.resblocks
    batch_first = getattr(visual.transformer, "batch_first", True)
    if not batch_first:
        x = x.permute(1, 0, 2)
    for blk in blocks[:-1]:
        x = blk(x)
    if not batch_first:
        x = x.permute(1, 0, 2)
    return x[:, 1:]


def clip_head(visual, y: torch.Tensor) -> torch.Tensor:
    """``ln_post`` and ``@ proj``: ``N x C`` -> ``N x D`` (D = 512 for ViT-B/16)."""
    return visual.ln_post(y) @ visual.proj
