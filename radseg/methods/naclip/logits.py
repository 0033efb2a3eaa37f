"""Dense logits: one window's cosines (spec 3.3) and the sliding window (spec 3.4).

``T`` is the ``Q x E`` query-embedding matrix (unit rows). Logits are raw cosines: no logit scale
until the post-processing (trap 7).
"""
from __future__ import annotations

from typing import Callable, Iterator, Tuple

import torch
import torch.nn.functional as F


def window_logits(features: torch.Tensor, text: torch.Tensor, hp: int, wp: int,
                  out_size: Tuple[int, int]) -> torch.Tensor:
    """``1 x hp*wp x E`` features -> ``1 x Q x out_h x out_w``: L2-normalise each token, ``F @ T^T``,
    permute + row-major reshape to ``hp x wp``, bilinear (``align_corners=False``) to ``out_size``."""
    f = features / features.norm(dim=-1, keepdim=True)
    s = f @ text.T                                           # 1 x hp*wp x Q
    s = s.permute(0, 2, 1).reshape(s.shape[0], s.shape[-1], hp, wp)
    return F.interpolate(s, size=tuple(out_size), mode="bilinear", align_corners=False)


def window_grid(h: int, w: int, crop: int, stride: int) -> Iterator[Tuple[int, int, int, int]]:
    """mmseg's slide grid: ``(y1, y2, x1, x2)`` per window, row by row; the last window of a row or
    column is shifted back to end at the border, never padded; a side shorter than ``crop`` is one
    window of that side's length."""
    nh = max(h - crop + stride - 1, 0) // stride + 1
    nw = max(w - crop + stride - 1, 0) // stride + 1
    for i in range(nh):
        for j in range(nw):
            y1, x1 = i * stride, j * stride
            y2, x2 = min(y1 + crop, h), min(x1 + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            yield y1, y2, x1, x2


def slide_logits(img: torch.Tensor, logits_of: Callable[[torch.Tensor], torch.Tensor], crop: int,
                 stride: int, num_queries: int) -> torch.Tensor:
    """``1 x 3 x H x W`` -> ``1 x Q x H x W``: each window's logits (at its own size) summed into a
    canvas in grid order and divided by the per-pixel window count.

    The canvas and the count have the image's dtype (fp32: the release's ``img.new_zeros``), so fp16
    window logits are accumulated in fp32 and the result is fp32.
    """
    _, _, h, w = img.shape
    canvas = img.new_zeros((1, num_queries, h, w))
    count = img.new_zeros((1, 1, h, w))
    for y1, y2, x1, x2 in window_grid(h, w, crop, stride):
        canvas[:, :, y1:y2, x1:x2] += logits_of(img[:, :, y1:y2, x1:x2])
        count[:, :, y1:y2, x1:x2] += 1
    return canvas / count
