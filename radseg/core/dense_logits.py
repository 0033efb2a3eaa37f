"""Dense class probabilities and prediction (ALGORITHM.md section 6).

The order of operations follows the reference exactly: SAM refinement
thresholds turn 1-ulp differences into different regions, so the cosine is a
*broadcast batched* matmul and the probabilities are upsampled from a
non-contiguous (channels-last) view.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F


def project_tokens(feats: torch.Tensor, head_mlp) -> torch.Tensor:
    """``B x C_v x h x w`` -> language space ``B x C_t x h x w`` via ``head_mlp``.

    ``head_mlp`` runs on a contiguous ``B x (h w) x C_v`` token tensor.
    """
    B, C, h, w = feats.shape
    tokens = feats.permute(0, 2, 3, 1).reshape(B, h * w, C).contiguous()
    proj = head_mlp(tokens)
    return proj.reshape(B, h, w, -1).permute(0, 3, 1, 2)


def cosine_probabilities(proj: torch.Tensor, text: torch.Tensor, temperature: float = 100.0,
                         chunk_bytes: int = 1 << 28) -> torch.Tensor:
    """Softmax over prompts of ``temperature x cosine`` per pixel.

    Args:
        proj: ``B x C_t x h x w`` projected features.
        text: ``Q x C_t`` prompt embeddings.
        chunk_bytes: the broadcast matmul expands both operands to
            ``M x Q x C_t``; pixels are processed in chunks so one expanded
            operand stays under this many bytes. Each output element is an
            independent dot product, so chunking does not change any bit.
    Returns:
        ``B x Q x h x w`` probabilities: a permuted, *non-contiguous* view
        (reference layout; keep it for bit-identical upsampling).
    """
    B, Ct, h, w = proj.shape
    pix = proj.permute(0, 2, 3, 1).reshape(-1, Ct)
    pix = pix / pix.norm(dim=-1, keepdim=True)
    txt = text.to(pix.dtype)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    M, Q = pix.shape[0], txt.shape[0]
    txt4 = txt[None, :, None, :]  # 1 x Q x 1 x C_t
    step = max(1, int(chunk_bytes // max(1, Q * Ct * pix.element_size())))
    sims = [(txt4 @ pix[i:i + step, None, :, None]).reshape(-1, Q) for i in range(0, M, step)]
    sim = sims[0] if len(sims) == 1 else torch.cat(sims, 0)
    prob = torch.softmax(temperature * sim, dim=-1)
    return prob.reshape(B, h, w, Q).permute(0, 3, 1, 2)


def upsample(prob: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinear, ``align_corners=False``, to the original image size ``(H0, W0)``."""
    return F.interpolate(prob, size=tuple(size), mode="bilinear", align_corners=False)


def max_over_synonyms(prob: torch.Tensor, owner: Optional[Sequence[int]], num_classes: int) -> torch.Tensor:
    """``B x Q x H x W`` per-prompt probabilities -> ``B x K x H x W`` (max per class).

    With one prompt per class (``owner == range(K)``) the input is returned as is.
    """
    if owner is None or list(owner) == list(range(num_classes)):
        return prob
    owner_t = torch.as_tensor(list(owner), device=prob.device)
    out = prob.new_full((prob.shape[0], num_classes) + prob.shape[2:], float("-inf"))
    for c in range(num_classes):
        out[:, c] = prob[:, owner_t == c].amax(dim=1)
    return out


def denoise_prompts(prob: torch.Tensor, thresh: float = 0.5) -> torch.Tensor:
    """Zero every class whose max over the image is below ``thresh``; no renormalisation.

    ``prob``: ``B x K x H x W``; returns a new tensor of the same shape.
    """
    if thresh <= 0:
        return prob
    keep = prob.amax(dim=(-2, -1), keepdim=True) >= thresh
    return prob * keep


def predict_labels(prob: torch.Tensor) -> torch.Tensor:
    """Argmax over classes: ``B x K x H x W`` -> ``B x H x W`` (int64; ties -> lowest index)."""
    return prob.argmax(dim=1)
