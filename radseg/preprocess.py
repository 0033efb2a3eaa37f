"""The evaluation's test pipeline for images that do not come from mmseg.

mmseg's ``Resize(scale, keep_ratio=True)`` is mmcv's ``imrescale``: one scale
factor ``min(long_max / long, short / short_side)``, each side rounded with
``int(x * f + 0.5)``, then ``cv2.resize(..., INTER_LINEAR)`` (up or down).
:mod:`radseg.image_rescale` does the same with OpenCV alone (no mm* or torch import), pinned by a
parity test against ``mmcv.imrescale``. Normalisation is ``SegDataPreProcessor``'s:
RGB, ``(x - mean) / std`` with CLIP's statistics in 0..255 units.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from .image_rescale import MEAN_RGB, STD_RGB, rescale_like_mmseg, rescale_size  # noqa: F401 (torch-free)


def normalize_image(img_rgb: torch.Tensor) -> torch.Tensor:
    """``... x 3 x H x W`` RGB in 0..255 -> CLIP-normalised float32 (SegDataPreProcessor's op order)."""
    mean = torch.tensor(MEAN_RGB, device=img_rgb.device).view(3, 1, 1)
    std = torch.tensor(STD_RGB, device=img_rgb.device).view(3, 1, 1)
    return (img_rgb.float() - mean) / std


def network_input(image_rgb: np.ndarray, scale: Optional[Sequence[int]]) -> torch.Tensor:
    """``H x W x 3`` uint8 RGB -> the normalised ``1 x 3 x H' x W'`` network input."""
    net_in = rescale_like_mmseg(image_rgb, scale)
    x = torch.from_numpy(np.ascontiguousarray(net_in)).permute(2, 0, 1)
    return normalize_image(x)[None]
