"""Sliding-window backbone features (ALGORITHM.md section 2).

Shapes: images ``B x 3 x H x W`` (already normalised), features
``B x C_v x H/p x W/p``. All sizes in pixels unless said otherwise.
"""
from __future__ import annotations

import math
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F


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


def resize_to_stride(img: torch.Tensor, crop: int, stride: int) -> torch.Tensor:
    """Resample ``B x 3 x H x W`` bilinearly (align_corners=False) to :func:`stride_resize_shape`."""
    h, w = img.shape[-2:]
    nh, nw = stride_resize_shape(h, w, crop, stride)
    if (nh, nw) == (h, w):
        return img
    return F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)


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


def stitch_windows(feats: torch.Tensor, boxes: List[Tuple[int, int, int, int]],
                   h: int, w: int, patch: int) -> torch.Tensor:
    """Average overlapping window features into one map (section 2, step 4).

    Args:
        feats: ``n_windows x C x crop/p x crop/p``.
        boxes: pixel corners from :func:`window_grid`, multiples of ``patch``.
    Returns:
        ``1 x C x ceil(h/p) x ceil(w/p)``.
    """
    c = feats.shape[1]
    hp, wp = math.ceil(h / patch), math.ceil(w / patch)
    acc = feats.new_zeros((1, c, hp, wp))
    count = feats.new_zeros((1, 1, hp, wp))
    for f, (y1, y2, x1, x2) in zip(feats, boxes):
        py1, px1 = y1 // patch, x1 // patch
        fh, fw = f.shape[-2:]
        acc[0, :, py1:py1 + fh, px1:px1 + fw] += f
        count[0, :, py1:py1 + fh, px1:px1 + fw] += 1
    return acc / count


def sliding_window_features(
    backbone: Callable[[torch.Tensor], torch.Tensor],
    img: torch.Tensor,
    crop: int,
    stride: int,
    patch: int,
    max_batch: Optional[int] = None,
) -> torch.Tensor:
    """Backbone feature map of one image from overlapping windows.

    Args:
        backbone: maps ``n x 3 x s x s`` to patch features ``n x C x s/p x s/p``.
        img: ``1 x 3 x H x W`` normalised image.
        crop, stride: window size and step in pixels; ``crop <= 0`` runs the
            whole image in one pass.
        max_batch: at most this many windows per backbone call (memory cap);
            ``None`` sends all windows of the image in one batched call.
    Returns:
        ``1 x C x h/p x w/p`` where ``(h, w)`` is the stride-resized size.
    """
    if crop <= 0:
        return backbone(img)
    img = resize_to_stride(img, crop, stride)
    h, w = img.shape[-2:]
    boxes = window_grid(h, w, crop, stride)
    crops = torch.cat([img[:, :, y1:y2, x1:x2] for (y1, y2, x1, x2) in boxes], dim=0)
    if max_batch is None or max_batch <= 0 or max_batch >= len(boxes):
        feats = backbone(crops)
    else:
        feats = torch.cat([backbone(crops[i:i + max_batch])
                           for i in range(0, len(boxes), max_batch)], dim=0)
    return stitch_windows(feats, boxes, h, w, patch)
