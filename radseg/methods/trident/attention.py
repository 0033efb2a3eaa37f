"""Trident's replacement of CLIP's last block (TRIDENT.md step 9; traps T2-T5): two attention ops,
no residual, no MLP.

* :func:`dino_guided_attention` (per crop): value-only attention on ``ln_1(x)`` with weights from
  the DINO affinity;
* :func:`sam_guided_attention` (whole image, after the splice): SAM's last-block attention masked by
  SAM's value cosines, averaged over heads, renormalised, applied to the spliced features.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F


def dino_affinity(dino_feats: torch.Tensor, beta: float = 1.2, gamma: float = 3.0) -> torch.Tensor:
    """``n x Cd x gh x gw`` DINO features -> attention weights ``n x M x M`` (M = gh*gw, rows sum to 1).

    ``S = f^T f`` of L2-normalised tokens; ``S' = (S - beta * mean(S)) * gamma`` with the mean over
    all crops, rows and columns at once (T2); ``S' < 0`` -> ``-inf`` after the transform (T3); softmax
    over keys. A row stays finite since its diagonal is ``(1 - beta*mean) * gamma > 0`` while ``beta*mean < 1``.
    """
    f = F.normalize(dino_feats.flatten(2), dim=1)  # n x Cd x M
    s = f.transpose(1, 2) @ f  # n x M x M
    s = (s - beta * s.mean()) * gamma
    s = s.masked_fill(s < 0, float("-inf"))
    return s.softmax(dim=-1)


def dino_guided_attention(block, x: torch.Tensor, dino_feats: torch.Tensor, clip_grid: Tuple[int, int],
                          beta: float = 1.2, gamma: float = 3.0) -> torch.Tensor:
    """First op of the last block: ``x`` ``n x N x C`` (tokens without CLS) -> ``n x C x gh x gw``.

    ``v = ln_1(x) W_v + b_v`` (the value slice of ``in_proj``; q and k unused), 12 heads, the same
    DINO weights for every head, ``out_proj``; no residual (T4). When the CLIP grid differs from the
    DINO grid ``v`` is resized bilinearly to the DINO grid and the output back to the CLIP grid.
    """
    attn = block.attn
    n, N, C = x.shape
    heads = attn.num_heads
    z = block.ln_1(x)
    v = F.linear(z, attn.in_proj_weight[2 * C:], attn.in_proj_bias[2 * C:])  # n x N x C
    gh, gw = clip_grid
    dh, dw = dino_feats.shape[-2:]
    if (dh, dw) != (gh, gw):
        v = v.transpose(1, 2).reshape(n, C, gh, gw)
        v = F.interpolate(v, size=(dh, dw), mode="bilinear", align_corners=False).flatten(2).transpose(1, 2)
    w = dino_affinity(dino_feats.to(v.dtype), beta, gamma)  # n x M x M
    vh = v.reshape(n, -1, heads, C // heads).transpose(1, 2)  # n x heads x M x d
    o = (w[:, None] @ vh).transpose(1, 2).reshape(n, -1, C)
    o = attn.out_proj(o)  # n x M x C
    o = o.transpose(1, 2).reshape(n, C, dh, dw)
    if (dh, dw) != (gh, gw):
        o = F.interpolate(o, size=(gh, gw), mode="bilinear", align_corners=False)
    return o


def sam_affinity_weights(attn: torch.Tensor, value: torch.Tensor, cos_fac: float = 1.2,
                         refine_neg_cos: bool = True) -> torch.Tensor:
    """SAM-guided weights ``G`` ``N x N`` (rows sum to 1) from SAM's ``attn`` ``h x N x N`` and ``value``
    ``h x hs x ws x d`` (T5).

    ``C_h`` = cosines of the heads' values; per-query threshold ``t = cos_fac * mean_{heads, keys}(C)``;
    ``refine_neg_cos=False``: ``t < 0 -> 0.6``; ``t = min(t, 0.9)``; ``A'_h = A_h where C_h > t else 0``;
    ``G = mean_h(A')`` renormalised per row (only now: the softmax was over the padded 64 x 64 grid).
    """
    heads = value.shape[0]
    vn = F.normalize(value.reshape(heads, -1, value.shape[-1]), dim=-1)  # h x N x d
    cos = vn @ vn.transpose(1, 2)  # h x N x N
    t = cos_fac * cos.mean(dim=0).mean(dim=-1, keepdim=True)  # N x 1
    if not refine_neg_cos:
        t = torch.where(t < 0, torch.full_like(t, 0.6), t)
    t = t.clamp(max=0.9)
    masked = torch.where(cos > t[None], attn, torch.zeros_like(attn))
    g = masked.mean(dim=0)
    return g / g.sum(dim=-1, keepdim=True)


def sam_guided_attention(canvas: torch.Tensor, attn: torch.Tensor, value: torch.Tensor, grid: Tuple[int, int],
                         cos_fac: float = 1.2, refine_neg_cos: bool = True) -> torch.Tensor:
    """Second op: the spliced ``C x Hc/P x Wc/P`` canvas, resized bilinearly to the SAM grid ``(hs, ws)``,
    is aggregated with :func:`sam_affinity_weights`: ``Y = G U`` ``N x C`` (the values are the spliced
    ``out_proj`` outputs themselves, no projection; T4)."""
    u = F.interpolate(canvas[None], size=tuple(grid), mode="bilinear", align_corners=False)[0]
    u = u.flatten(1).transpose(0, 1)  # N x C
    g = sam_affinity_weights(attn, value, cos_fac, refine_neg_cos)
    return g.to(u.dtype) @ u
