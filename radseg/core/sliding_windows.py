"""Sliding-window backbone features (ALGORITHM.md section 2).

Shapes: images ``B x 3 x H x W`` (already normalised), features
``B x C_v x H/p x W/p``. All sizes in pixels unless said otherwise.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from .window_geometry import stride_resize_shape, window_grid  # noqa: F401 (re-exported)


def resize_to_stride(img: torch.Tensor, crop: int, stride: int) -> torch.Tensor:
    """Resample ``B x 3 x H x W`` bilinearly (align_corners=False) to :func:`stride_resize_shape`."""
    h, w = img.shape[-2:]
    nh, nw = stride_resize_shape(h, w, crop, stride)
    if (nh, nw) == (h, w):
        return img
    return F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)


def stitch_windows_loop(feats: torch.Tensor, boxes: List[Tuple[int, int, int, int]],
                        h: int, w: int, patch: int) -> torch.Tensor:
    """The per-window loop of section 2, step 4 (the summation order :func:`stitch_windows` keeps).

    Kept as the reference the loop-free version is tested against.
    """
    c = feats.shape[1]
    hp, wp = math.ceil(h / patch), math.ceil(w / patch)
    acc = feats.new_zeros((1, c, hp, wp))
    count = feats.new_zeros((1, 1, hp, wp))
    for f, (y1, _y2, x1, _x2) in zip(feats, boxes):
        py1, px1 = y1 // patch, x1 // patch
        fh, fw = f.shape[-2:]
        acc[0, :, py1:py1 + fh, px1:px1 + fw] += f
        count[0, :, py1:py1 + fh, px1:px1 + fw] += 1
    return acc / count


_STITCH_PLANS: Dict[tuple, Tuple[torch.Tensor, torch.Tensor]] = {}


def stitch_plan(boxes: List[Tuple[int, int, int, int]], h: int, w: int, patch: int, fh: int, fw: int,
                device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Gather indices ``T x (hp*wp)`` and window counts ``1 x 1 x hp x wp`` for :func:`stitch_windows`.

    Row ``t`` of the indices holds, for every cell, the flat position (into the
    ``n_windows * fh * fw`` window cells, window-major) of the ``t``-th window covering
    the cell *in window order*, or ``n_windows * fh * fw`` (a zero cell) when fewer than
    ``t + 1`` windows cover it. ``T`` is the largest overlap (4 or 9 for the presets).
    Built once per (grid, device) and cached, so no host->device copy per image.
    """
    key = (tuple(boxes), h, w, patch, fh, fw, str(device))
    plan = _STITCH_PLANS.get(key)
    if plan is not None:
        return plan
    hp, wp = math.ceil(h / patch), math.ceil(w / patch)
    n = len(boxes)
    pad = n * fh * fw
    rows: List[List[int]] = [[] for _ in range(hp * wp)]
    for k, (y1, _, x1, _) in enumerate(boxes):  # window order = summation order
        py1, px1 = y1 // patch, x1 // patch
        for i in range(fh):
            base = (py1 + i) * wp + px1
            src = k * fh * fw + i * fw
            for j in range(fw):
                rows[base + j].append(src + j)
    depth = max(len(r) for r in rows)
    idx = torch.full((depth, hp * wp), pad, dtype=torch.int64)
    count = torch.zeros(hp * wp)
    for cell, r in enumerate(rows):
        if r:
            idx[:len(r), cell] = torch.tensor(r)
        count[cell] = float(len(r))
    plan = (idx.to(device), count.reshape(1, 1, hp, wp).to(device))
    if len(_STITCH_PLANS) > 64:
        _STITCH_PLANS.clear()
    _STITCH_PLANS[key] = plan
    return plan


def stitch_windows(feats: torch.Tensor, boxes: List[Tuple[int, int, int, int]],
                   h: int, w: int, patch: int, method: str = "auto") -> torch.Tensor:
    """Average overlapping window features into one map (section 2, step 4), without a window loop.

    ``method``: ``"gather"`` (below), ``"loop"`` (:func:`stitch_windows_loop`) or ``"auto"``:
    gather on CUDA (a few large kernels instead of two per window: 144 launches at
    Cityscapes high), the loop on the CPU (measured no slower there, and it makes fewer
    memory passes). Both give the same bits.

    Bit-identical to :func:`stitch_windows_loop` (tested): each cell's sum is built in the
    same order, ``((0 + f_a) + f_b) + ...`` over its covering windows in window order, as
    ``T`` elementwise additions of gathered maps (``T`` = the largest overlap, e.g. 4 for
    crop/stride 336/224 and 9 for 336/112, whatever the number of windows); cells covered
    by fewer windows add an exact ``+0``. (``F.fold`` or ``index_add_`` would sum in
    another order, so they are not bit-identical for 3 or more overlapping windows.)
    The counts are exact small integers, computed once per grid.

    Args:
        feats: ``n_windows x C x crop/p x crop/p``.
        boxes: pixel corners from :func:`window_grid`, multiples of ``patch``.
    Returns:
        ``1 x C x ceil(h/p) x ceil(w/p)``.
    """
    if method == "loop" or (method == "auto" and not feats.is_cuda):
        return stitch_windows_loop(feats, boxes, h, w, patch)
    n, c, fh, fw = feats.shape
    hp, wp = math.ceil(h / patch), math.ceil(w / patch)
    idx, count = stitch_plan(boxes, h, w, patch, fh, fw, feats.device)
    # (n*fh*fw + 1) x C: every window cell as a row (channels last), plus one zero row for padding
    src = torch.cat([feats.permute(0, 2, 3, 1).reshape(n * fh * fw, c), feats.new_zeros((1, c))], dim=0)
    acc = feats.new_zeros((hp * wp, c))
    for t in range(idx.shape[0]):  # overlap depth (<= 9), not windows
        acc += src.index_select(0, idx[t])
    # elementwise division, then back to contiguous NCHW (the layout the loop returns)
    return (acc / count.reshape(hp * wp, 1)).t().reshape(1, c, hp, wp).contiguous()


def sliding_window_features(
    backbone: Callable[[torch.Tensor], torch.Tensor],
    img: torch.Tensor,
    crop: int,
    stride: int,
    patch: int,
    max_batch: Optional[int] = None,
) -> torch.Tensor:
    """Backbone feature maps from overlapping windows, for one image or a batch of equal-size images.

    Args:
        backbone: maps ``n x 3 x s x s`` to patch features ``n x C x s/p x s/p``.
        img: ``B x 3 x H x W`` normalised images (``B = 1`` in the reference). With ``B > 1``
            the windows of all images go through the backbone together (image-major order)
            and each image is stitched on its own; the result per image equals the
            ``B = 1`` call as long as the backbone's kernels do not depend on the batch
            size (bit-identical on the CPU, tested; see docs/BENCHMARKS.md for CUDA).
        crop, stride: window size and step in pixels; ``crop <= 0`` runs the
            whole image in one pass.
        max_batch: at most this many windows per backbone call (memory cap);
            ``None`` sends all windows in one batched call.
    Returns:
        ``B x C x h/p x w/p`` where ``(h, w)`` is the stride-resized size.
    """
    if crop <= 0:
        return backbone(img)
    img = resize_to_stride(img, crop, stride)
    B = img.shape[0]
    h, w = img.shape[-2:]
    boxes = window_grid(h, w, crop, stride)
    n = len(boxes)
    if B == 1:
        crops = torch.cat([img[:, :, y1:y2, x1:x2] for (y1, y2, x1, x2) in boxes], dim=0)
    else:  # image-major: the windows of image 0, then those of image 1, ...
        crops = torch.stack([img[:, :, y1:y2, x1:x2] for (y1, y2, x1, x2) in boxes], dim=1)
        crops = crops.reshape(B * n, *crops.shape[2:])
    total = crops.shape[0]
    if max_batch is None or max_batch <= 0 or max_batch >= total:
        feats = backbone(crops)
    else:
        feats = torch.cat([backbone(crops[i:i + max_batch]) for i in range(0, total, max_batch)], dim=0)
    if B == 1:
        return stitch_windows(feats, boxes, h, w, patch)
    return torch.cat([stitch_windows(feats[b * n:(b + 1) * n], boxes, h, w, patch) for b in range(B)], dim=0)
