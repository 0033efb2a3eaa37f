"""Trident's SAM branch (TRIDENT.md section 2, step A; trap T1): the original image through SAM's encoder.

The branch reads the *original* image (not the test pipeline's resized tensor), stretches it to
multiples of 16, runs ``SamPredictor.set_image`` on it and keeps the last block's attention
``A`` and value ``V`` cropped to the valid token grid ``(hs, ws)`` (long side 64), which is
Trident's output resolution. Cityscapes (``sam_halves``) runs the left and right halves separately
and joins the grids along the width; the refinement then uses a third pass on the whole image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch

Size = Tuple[int, int]


@dataclass
class SamFeatures:
    """``attn`` ``heads x N x N`` (rows not renormalised), ``value`` ``heads x hs x ws x head_dim``,
    ``grid`` ``(hs, ws)``, ``embedding`` ``1 x C x 64 x 64`` and ``input_size`` (SAM's resized size)
    of the pass the refinement uses."""
    attn: torch.Tensor
    value: torch.Tensor
    grid: Size
    embedding: torch.Tensor
    input_size: Size


def sam_input_image(rgb: np.ndarray, patch: int = 16) -> np.ndarray:
    """Step 1: ``H x W x 3`` uint8 RGB -> ``I0``, each side rounded *up* to a multiple of ``patch``
    (``cv2.resize`` INTER_LINEAR: the image is stretched)."""
    import cv2
    h, w = rgb.shape[:2]
    nh, nw = -(-h // patch) * patch, -(-w // patch) * patch
    return cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)


@torch.no_grad()
def sam_pass(sam, image: np.ndarray, patch: int = 16):
    """Steps 2-4 for one ``H x W x 3`` uint8 RGB image: ``(A heads x N x N, V heads x hs x ws x d, (hs, ws),
    embedding, input_size)``. ``SamPredictor.set_image``: ResizeLongestSide(1024) with PIL bilinear,
    SAM's normalisation, zero padding, the image encoder; the last block's attention is cropped to
    the valid grid ``hs = in_h // 16, ws = in_w // 16`` (padding tokens were part of the softmax)."""
    from segment_anything import SamPredictor
    predictor = SamPredictor(sam)
    predictor.set_image(np.ascontiguousarray(image))
    attn_mod = sam.image_encoder.blocks[-1].attn
    heads = attn_mod.num_heads
    a, v = attn_mod.last_attn, attn_mod.last_v  # [heads, G*G, G*G], [1, heads, G, G, d]
    g = v.shape[2]
    hs, ws = predictor.input_size[0] // patch, predictor.input_size[1] // patch
    a = a.view(heads, g, g, g, g)[:, :hs, :ws, :hs, :ws].reshape(heads, hs * ws, hs * ws)
    v = v[0, :, :hs, :ws]
    attn_mod.last_attn = attn_mod.last_v = None
    return a.float(), v.float(), (hs, ws), predictor.features, tuple(int(s) for s in predictor.input_size)


def sam_features(sam, rgb: np.ndarray, halves: bool = False, refine: bool = True) -> SamFeatures:
    """Step A on the original ``H x W x 3`` uint8 RGB image.

    ``halves`` (Cityscapes): ``I0`` split at ``W/2``; each half's grid is computed on its own and
    the two are joined along the width; the attention is block-diagonal (no pairs across halves);
    with ``refine`` a third pass on the whole ``I0`` gives the refinement's embedding.
    """
    i0 = sam_input_image(rgb)
    if not halves:
        a, v, grid, emb, size = sam_pass(sam, i0)
        return SamFeatures(a, v, grid, emb, size)
    w2 = i0.shape[1] // 2
    al, vl, (hl, wl), emb, size = sam_pass(sam, i0[:, :w2])
    ar, vr, (hr, wr), _, _ = sam_pass(sam, i0[:, w2:])
    if hl != hr:
        raise ValueError(f"the SAM grids of the two halves differ in height ({hl} vs {hr})")
    heads = al.shape[0]
    W = wl + wr
    a = torch.zeros(heads, hl, W, hl, W, dtype=al.dtype, device=al.device)
    a[:, :, :wl, :, :wl] = al.view(heads, hl, wl, hl, wl)
    a[:, :, wl:, :, wl:] = ar.view(heads, hr, wr, hr, wr)
    v = torch.cat([vl, vr], dim=2)
    if refine:
        _, _, _, emb, size = sam_pass(sam, i0)
    return SamFeatures(a.reshape(heads, hl * W, hl * W), v, (hl, W), emb, size)
