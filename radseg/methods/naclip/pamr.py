"""PAMR (pixel-adaptive mask refinement, Araslanov & Roth 2020) as NACLIP's release runs it (spec 3.5).

``image``: ``1 x 3 x H0 x W0`` guide (the normalised network input resized to the output size);
``mask``: ``1 x Q x H0 x W0`` logits. Neighbours per dilation ``d``: the 8 offsets ``d * {-1,0,1}^2``
without the centre, in raster order, the dilations concatenated (K = 8 per dilation).
"""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn.functional as F

#: the 3x3 raster order of the release's kernels, centre excluded
_OFFSETS = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]


def _shifted(x: torch.Tensor, d: int, offsets) -> List[torch.Tensor]:
    """``x`` (``B x C x H x W``) replicate-padded by ``d``, read at each offset ``d * (a, b)``."""
    h, w = x.shape[-2:]
    p = F.pad(x, [d, d, d, d], mode="replicate")
    return [p[..., d + a * d: d + a * d + h, d + b * d: d + b * d + w] for a, b in offsets]


def local_std(image: torch.Tensor, dilations: Sequence[int]) -> torch.Tensor:
    """One unbiased std per channel and pixel over the 3x3 samples (centre included) of **every**
    dilation together (18 samples for (8, 16); the centre counted twice): ``B x C x 1 x H x W``."""
    samples = []
    for d in dilations:
        samples += _shifted(image, d, [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)])
    return torch.stack(samples, dim=2).std(dim=2, keepdim=True)


def affinity(image: torch.Tensor, dilations: Sequence[int]) -> torch.Tensor:
    """``B x 1 x K x H x W`` weights: ``softmax_K(mean_c(-|I - I(n)| / (1e-8 + 0.1 sigma_c)))``."""
    diffs = []
    for d in dilations:
        diffs += [image - s for s in _shifted(image, d, _OFFSETS)]
    a = -torch.stack(diffs, dim=2).abs() / (1e-8 + 0.1 * local_std(image, dilations))
    return a.mean(dim=1, keepdim=True).softmax(dim=2)


def pamr(image: torch.Tensor, mask: torch.Tensor, steps: int = 10, dilations: Sequence[int] = (8, 16)) -> torch.Tensor:
    """``steps`` times ``M <- sum_n a_n M(n)`` (replicate-padded ``M``, centre not a neighbour).

    The mask is first resized to the image with ``align_corners=True`` (a no-op when the sizes match,
    as in NACLIP). Runs in the image's dtype; returns ``B x Q x H0 x W0``.
    """
    mask = F.interpolate(mask.to(image.dtype), size=image.shape[-2:], mode="bilinear", align_corners=True)
    a = affinity(image, dilations)
    for _ in range(steps):
        neigh = []
        for d in dilations:
            neigh += _shifted(mask, d, _OFFSETS)
        mask = (torch.stack(neigh, dim=2) * a).sum(dim=2)
    return mask
