"""Self-Correlating Global Aggregation (ALGORITHM.md section 4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def scga(feats: torch.Tensor, scaling: float = 10.0) -> torch.Tensor:
    """Aggregate every token with the tokens it correlates with, image-wide.

    Args:
        feats: raw stitched backbone map ``B x C x h x w``.
        scaling: ``s_ga``.
    Returns:
        ``B x C x h x w``: ``softmax(mask((S - mean(S)) * s_ga)) @ T`` with ``T``
        the unnormalised tokens and ``mean(S)`` ONE scalar over the whole tensor
        (all batch items and entries), as the reference does.
    """
    B, C, h, w = feats.shape
    tokens = feats.flatten(2).transpose(1, 2)  # B x N x C
    normed = F.normalize(tokens, dim=-1)
    sim = normed @ normed.transpose(1, 2)  # B x N x N
    sim = (sim - sim.mean()) * scaling
    sim = sim.masked_fill(sim < 0, float("-inf")).softmax(dim=-1)
    out = sim @ tokens  # B x N x C
    return out.transpose(1, 2).reshape(B, C, h, w)
