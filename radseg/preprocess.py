"""The evaluation's test pipeline for images that do not come from mmseg.

mmseg's ``Resize(scale, keep_ratio=True)`` is mmcv's ``imrescale``: one scale
factor ``min(long_max / long, short / short_side)``, each side rounded with
``int(x * f + 0.5)``, then ``cv2.resize(..., INTER_LINEAR)`` (up or down).
This module does the same with OpenCV alone (no mm* import), pinned by a
parity test against ``mmcv.imrescale``. Normalisation is ``SegDataPreProcessor``'s:
RGB, ``(x - mean) / std`` with CLIP's statistics in 0..255 units.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used: the resize serves the torch-free ONNX path too
    import torch

#: CLIP statistics in 0..255 units, RGB order (mmseg's SegDataPreProcessor in the configs).
MEAN_RGB = (122.771, 116.746, 104.094)
STD_RGB = (68.501, 66.632, 70.323)


def rescale_size(h: int, w: int, scale: Sequence[int]) -> Tuple[int, int]:
    """``(h', w')`` of mmcv's ``rescale_size`` for ``scale = (long_max, short_max)`` (either order)."""
    long_max, short_max = max(scale), min(scale)
    f = min(long_max / max(h, w), short_max / min(h, w))
    return int(h * float(f) + 0.5), int(w * float(f) + 0.5)


def rescale_like_mmseg(image: np.ndarray, scale: Optional[Sequence[int]]) -> np.ndarray:
    """mmseg's test ``Resize(scale, keep_ratio=True)`` on an ``H x W x C`` array (``None``: unchanged)."""
    if not scale:
        return image
    import cv2
    nh, nw = rescale_size(image.shape[0], image.shape[1], scale)
    return cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)


def normalize_image(img_rgb: torch.Tensor) -> torch.Tensor:
    """``... x 3 x H x W`` RGB in 0..255 -> CLIP-normalised float32 (SegDataPreProcessor's op order)."""
    import torch
    mean = torch.tensor(MEAN_RGB, device=img_rgb.device).view(3, 1, 1)
    std = torch.tensor(STD_RGB, device=img_rgb.device).view(3, 1, 1)
    return (img_rgb.float() - mean) / std


def network_input(image_rgb: np.ndarray, scale: Optional[Sequence[int]]) -> torch.Tensor:
    """``H x W x 3`` uint8 RGB -> the normalised ``1 x 3 x H' x W'`` network input."""
    import torch
    net_in = rescale_like_mmseg(image_rgb, scale)
    x = torch.from_numpy(np.ascontiguousarray(net_in)).permute(2, 0, 1)
    return normalize_image(x)[None]
