"""mmseg's test ``Resize(scale, keep_ratio=True)`` with OpenCV alone, and CLIP's statistics: no torch.

:mod:`radseg.preprocess` (the torch front door) and :mod:`radseg.deploy.runtime` (RADSeg without
PyTorch) both resize through here, so the two give the network the same pixels.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

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
