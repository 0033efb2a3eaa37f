"""Position-embedding interpolation shared by Trident's CLIP and DINO (TRIDENT.md steps 8-9, trap T6)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def interpolate_pos_embed(pos_embed: torch.Tensor, npatch: int, gh: int, gw: int) -> torch.Tensor:
    """DINO's ``interpolate_pos_encoding`` on ``pos_embed`` ``1 x (1+N) x C`` for a ``gh x gw`` token grid.

    Unchanged when ``npatch == N`` and the grid is square; otherwise the ``sqrt(N) x sqrt(N)`` grid is
    resized bicubically (align_corners False, no antialias) with ``scale_factor = (g + 0.1) / sqrt(N)``
    per axis: the factor, not the output size, sets the coordinate mapping (T6). Returns ``1 x (1+gh*gw) x C``.
    """
    N = pos_embed.shape[1] - 1
    if npatch == N and gh == gw:
        return pos_embed
    dim = pos_embed.shape[-1]
    side = int(math.sqrt(N))
    h0, w0 = gh + 0.1, gw + 0.1
    grid = pos_embed[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=(h0 / math.sqrt(N), w0 / math.sqrt(N)), mode="bicubic")
    assert int(h0) == grid.shape[-2] and int(w0) == grid.shape[-1]
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat((pos_embed[:, :1], grid), dim=1)
