"""RADSeg's steps around the exported graphs in numpy (no torch): docs/ALGORITHM.md sections 2, 4 and 6.

Each function is the numpy form of the torch function named in its docstring, with the same
order of operations and float32 throughout. What is exact and what is not (float reassociation
only; docs/DEPLOY.md "Without PyTorch"):

* exact (the same float32 operations in the same order): the normalisation, window corners and
  crops, the stitching sums and counts, the synonym max, denoising, argmax;
* equal to float rounding (a few ulp): the bilinear resamples (the same weights and indices as
  PyTorch's CPU kernel; PyTorch's compiled kernel may fuse multiply-adds), SCGA's and the
  cosine's matrix products (BLAS kernels sum in their own order), vector norms, means and the
  softmax (``exp`` implementations differ by an ulp).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

F32 = np.float32


def _linear_axis(n_in: int, n_out: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``i0, i1`` and weights ``w0, w1`` of PyTorch's bilinear ``align_corners=False`` along one
    axis (``area_pixel_compute_source_index``: ``scale * (dst + 0.5) - 0.5``, clamped at 0; float32)."""
    scale = np.float64(F32(n_in) / F32(n_out))  # float32, as PyTorch's opmath for float
    # one rounding of scale * (dst + 0.5) - 0.5 (PyTorch's compiled kernel fuses it into a multiply-add:
    # this matches its indices and weights far more often than two float32 roundings)
    src = (scale * (np.arange(n_out, dtype=np.float64) + 0.5) - 0.5).astype(F32)
    src = np.maximum(src, F32(0))
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, n_in - 1)
    lam = np.clip(src - i0.astype(F32), F32(0), F32(1)).astype(F32)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return i0, i1, (F32(1) - lam).astype(F32), lam


def resize_bilinear(x: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False)`` on ``... x H x W``."""
    h, w = x.shape[-2:]
    oh, ow = int(size[0]), int(size[1])
    if (oh, ow) == (h, w):
        return x.astype(F32, copy=False)
    y0, y1, hy0, hy1 = _linear_axis(h, oh)
    x0, x1, wx0, wx1 = _linear_axis(w, ow)
    x = x.astype(F32, copy=False)
    rows0, rows1 = x[..., y0, :], x[..., y1, :]

    def across(r):  # w0 * left + w1 * right, in PyTorch's order
        return r[..., x0] * wx0 + r[..., x1] * wx1
    return (across(rows0) * hy0[:, None] + across(rows1) * hy1[:, None]).astype(F32)


def stitch_windows(feats: np.ndarray, boxes: Sequence[Tuple[int, int, int, int]], h: int, w: int,
                   patch: int) -> np.ndarray:
    """:func:`radseg.core.sliding_windows.stitch_windows_loop`: ``n x C x fh x fw`` -> ``1 x C x hp x wp``."""
    c = feats.shape[1]
    hp, wp = -(-h // patch), -(-w // patch)
    acc = np.zeros((1, c, hp, wp), F32)
    count = np.zeros((1, 1, hp, wp), F32)
    for f, (y1, _y2, x1, _x2) in zip(feats, boxes):
        py1, px1 = y1 // patch, x1 // patch
        fh, fw = f.shape[-2:]
        acc[0, :, py1:py1 + fh, px1:px1 + fw] += f
        count[0, :, py1:py1 + fh, px1:px1 + fw] += F32(1)
    return acc / count


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def scga(feats: np.ndarray, scaling: float) -> np.ndarray:
    """:func:`radseg.core.scga.scga`: ``B x C x h x w`` -> the same, one mean over the whole similarity tensor."""
    b, c, h, w = feats.shape
    tokens = feats.reshape(b, c, h * w).transpose(0, 2, 1)  # B x N x C
    norm = np.sqrt(np.sum(tokens * tokens, axis=-1, keepdims=True, dtype=F32))
    normed = tokens / np.maximum(norm, F32(1e-12))
    sim = normed @ normed.transpose(0, 2, 1)
    sim = (sim - sim.mean(dtype=F32)) * F32(scaling)
    sim = np.where(sim < 0, F32(-np.inf), sim)
    out = _softmax(sim, -1) @ tokens
    return out.transpose(0, 2, 1).reshape(b, c, h, w).astype(F32)


def tokens_of(feats: np.ndarray) -> np.ndarray:
    """:func:`radseg.core.dense_logits.project_tokens`' input: ``B x C x h x w`` -> contiguous ``B x hw x C``."""
    b, c, h, w = feats.shape
    return np.ascontiguousarray(feats.transpose(0, 2, 3, 1).reshape(b, h * w, c))


def cosine_probabilities(proj: np.ndarray, text: np.ndarray, temperature: float = 100.0) -> np.ndarray:
    """:func:`radseg.core.dense_logits.cosine_probabilities`: ``B x h x w x C_t`` (channels last) and
    ``Q x C_t`` -> ``B x Q x h x w`` softmax over prompts of ``temperature x cosine``."""
    b, h, w, ct = proj.shape
    pix = proj.reshape(-1, ct)
    pix = pix / np.sqrt(np.sum(pix * pix, axis=-1, keepdims=True, dtype=F32))
    txt = text.astype(F32) / np.sqrt(np.sum(text.astype(F32) ** 2, axis=-1, keepdims=True, dtype=F32))
    prob = _softmax(F32(temperature) * (pix @ txt.T), -1)
    return prob.reshape(b, h, w, -1).transpose(0, 3, 1, 2)


def max_over_synonyms(prob: np.ndarray, owner: Optional[Sequence[int]], num_classes: int) -> np.ndarray:
    """:func:`radseg.core.dense_logits.max_over_synonyms` on ``B x Q x H x W``."""
    if owner is None or list(owner) == list(range(num_classes)):
        return prob
    owner_a = np.asarray(list(owner))
    return np.stack([prob[:, owner_a == c].max(axis=1) for c in range(num_classes)], axis=1)


def denoise_prompts(prob: np.ndarray, thresh: float) -> np.ndarray:
    """:func:`radseg.core.dense_logits.denoise_prompts`: zero classes whose image-wide max is below ``thresh``."""
    if thresh <= 0:
        return prob
    keep = prob.max(axis=(-2, -1), keepdims=True) >= F32(thresh)
    return prob * keep


def flatten_synonyms(classes: Sequence[Sequence[str]]) -> Tuple[List[str], List[int]]:
    """:func:`radseg.core.text_embeddings.flatten_synonyms`: prompts and the class owning each."""
    queries, owner = [], []
    for idx, syns in enumerate(classes):
        for s in syns:
            queries.append(s)
            owner.append(idx)
    return queries, owner
