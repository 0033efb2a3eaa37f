"""Trident's CLIP/DINO crops and the splice (TRIDENT.md steps 6, 7 and the "Splice" of step 9).

Plain PyTorch on tensors; ``P`` = CLIP's patch (16), ``c`` = ``slide_crop``, ``s`` = ``slide_stride``.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F

#: OpenAI CLIP statistics of 0..1 RGB (what the release un-normalises with before DINO, step 8)
CLIP_MEAN01 = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD01 = (0.26862954, 0.26130258, 0.27577711)

Window = Tuple[int, int, int, int]  # (y1, x1, y2, x2), pixels


def _ceil_to(x: int, p: int) -> int:
    return x if x % p == 0 else (x // p + 1) * p


def preprocess_size(h: int, w: int, patch: int = 16, crop: int = 336) -> Tuple[int, int]:
    """Step 6's target size ``(Hc, Wc)`` (T7): ``(h, w)`` unchanged when both are multiples of ``patch``
    (even below ``crop``); else the long side to the next multiple of ``patch``, the short side scaled by
    the same ratio (``int``), then up to a multiple of ``patch``; both at least ``crop``."""
    if h % patch == 0 and w % patch == 0:
        return h, w
    long = max(h, w)
    dst = _ceil_to(long, patch)
    nh, nw = _ceil_to(int(h * dst / long), patch), _ceil_to(int(w * dst / long), patch)
    return max(nh, crop), max(nw, crop)


def preprocess_image(img: torch.Tensor, patch: int = 16, crop: int = 336) -> torch.Tensor:
    """Step 6: ``1 x 3 x H x W`` -> ``1 x 3 x Hc x Wc`` (bilinear, align_corners False, no antialias)."""
    h, w = img.shape[-2:]
    size = preprocess_size(h, w, patch, crop)
    if size == (h, w):
        return img
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False)


def window_grid(hc: int, wc: int, crop: int = 336, stride: int = 224) -> List[Window]:
    """Step 7: mmseg's slide grid, row-major; the last window of a row/column is snapped to the border."""
    nh = max(hc - crop + stride - 1, 0) // stride + 1
    nw = max(wc - crop + stride - 1, 0) // stride + 1
    out = []
    for i in range(nh):
        for j in range(nw):
            y1, x1 = i * stride, j * stride
            y2, x2 = min(y1 + crop, hc), min(x1 + crop, wc)
            out.append((max(y2 - crop, 0), max(x2 - crop, 0), y2, x2))
    return out


def crop_batch(img: torch.Tensor, windows: List[Window], patch: int = 16) -> torch.Tensor:
    """All windows of ``img`` (``1 x 3 x Hc x Wc``) as ``n x 3 x c x c``; every corner a multiple of ``patch`` (T13)."""
    for w in windows:
        if any(v % patch for v in w):
            raise ValueError(f"window {w} is not on the {patch}-pixel token grid (T13)")
    return torch.cat([img[:, :, y1:y2, x1:x2] for y1, x1, y2, x2 in windows], dim=0)


def splice(outputs: torch.Tensor, windows: List[Window], canvas_hw: Tuple[int, int], patch: int = 16) -> torch.Tensor:
    """Splice: per-crop features ``n x C x g x g`` into ``C x Hc/P x Wc/P``, overlaps averaged.

    Each crop is added (window order) into a zero canvas at its token location ``(y1,x1,y2,x2)/P``;
    the sum is divided by the per-cell window count (T7: averaging in token units).
    """
    n, C = outputs.shape[:2]
    gh, gw = canvas_hw[0] // patch, canvas_hw[1] // patch
    canvas = torch.zeros(C, gh, gw, dtype=outputs.dtype, device=outputs.device)
    count = torch.zeros(1, gh, gw, dtype=outputs.dtype, device=outputs.device)
    for k, (y1, x1, y2, x2) in enumerate(windows):
        ty1, tx1, ty2, tx2 = y1 // patch, x1 // patch, y2 // patch, x2 // patch
        canvas[:, ty1:ty2, tx1:tx2] += outputs[k]
        count[:, ty1:ty2, tx1:tx2] += 1
    return canvas / count
