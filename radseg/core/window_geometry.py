"""The window geometry of section 2 (steps 1 and 2) in plain Python: no torch, so the ONNX Runtime
path without PyTorch (:mod:`radseg.deploy.runtime`) uses the same sizes and corners."""
from __future__ import annotations

import math
from typing import List, Tuple


def stride_resize_shape(h: int, w: int, crop: int, stride: int) -> Tuple[int, int]:
    """Size the image is resampled to before windowing (section 2, step 1).

    Kept as is when both sides are multiples of ``stride``. Otherwise the long
    side ``L`` is rounded up to a multiple of ``stride`` (``L'``), both sides
    are scaled by ``L'/L`` and truncated to int, each side is rounded *up* to a
    multiple of ``stride`` (the stride, not the patch size) and raised to at
    least ``crop``.
    """
    if h % stride == 0 and w % stride == 0:
        return h, w
    long_side = max(h, w)
    new_long = math.ceil(long_side / stride) * stride
    scale = new_long / long_side
    nh, nw = int(h * scale), int(w * scale)
    nh = math.ceil(nh / stride) * stride
    nw = math.ceil(nw / stride) * stride
    return max(nh, crop), max(nw, crop)


def window_grid(h: int, w: int, crop: int, stride: int) -> List[Tuple[int, int, int, int]]:
    """Window corners ``(y1, y2, x1, x2)`` in row-major order (section 2, step 2).

    ``rows = max(h - crop + stride - 1, 0) // stride + 1`` (likewise cols); a
    window that would pass the border is shifted back so it keeps the full
    ``crop`` (or starts at 0 if the image is smaller than ``crop``).
    """
    rows = max(h - crop + stride - 1, 0) // stride + 1
    cols = max(w - crop + stride - 1, 0) // stride + 1
    boxes = []
    for i in range(rows):
        for j in range(cols):
            y1, x1 = i * stride, j * stride
            y2, x2 = min(y1 + crop, h), min(x1 + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            boxes.append((y1, y2, x1, x2))
    return boxes
