"""Trident's text side and prediction (TRIDENT.md steps 10-12; traps T8-T10).

* :func:`class_queries`: class lines -> the flat query list and each query's class;
* the query embeddings (80 OpenAI ImageNet templates per query, each embedding normalised, averaged,
  renormalised; T10) are :func:`radseg.methods.clip.text.query_embeddings`;
* :func:`query_logits`: cosine of the normalised image features with the queries, bilinearly upsampled
  to the original size (T9: before the scale and softmax);
* :func:`query_probabilities`, :func:`merge_queries`, :func:`predict_labels`.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F


def class_queries(classes: Sequence[Sequence[str]]) -> Tuple[List[str], List[int]]:
    """``[["sky", "wall"], ["cat"]]`` -> ``(["sky", "wall", "cat"], [0, 0, 1])``."""
    queries, owner = [], []
    for i, syns in enumerate(classes):
        for s in syns:
            queries.append(s)
            owner.append(i)
    return queries, owner


def query_logits(features: torch.Tensor, text: torch.Tensor, grid: Tuple[int, int],
                 ori_shape: Tuple[int, int]) -> torch.Tensor:
    """Step 11: ``features`` ``N x D`` (N = hs*ws), ``text`` ``Q x D`` -> cosine logits ``Q x H0 x W0``
    (bilinear, align_corners False, from the ``hs x ws`` grid)."""
    f = F.normalize(features.float(), dim=-1)
    logits = (f @ text.float().T).T.reshape(1, text.shape[0], grid[0], grid[1])
    return F.interpolate(logits, size=tuple(ori_shape), mode="bilinear", align_corners=False)[0]


def query_probabilities(logits: torch.Tensor, logit_scale: float = 40.0) -> torch.Tensor:
    """Step 12: ``softmax(logit_scale * logits)`` over the queries (axis 0), at full resolution."""
    return (logit_scale * logits).softmax(dim=0)


def merge_queries(probs: torch.Tensor, owner: Sequence[int]) -> torch.Tensor:
    """``Q x H x W`` query probabilities -> ``K x H x W`` class probabilities: each class the max over its
    queries' probabilities (after the softmax over *all* queries; T8). On the release's files, where
    only the first line has several queries, this is its ``[max(p[:Q-K+1]), p[Q-K+1:]]``."""
    K = max(owner) + 1
    if len(owner) == K:
        return probs
    idx = torch.as_tensor(owner, device=probs.device)
    return torch.stack([probs[idx == k].amax(dim=0) for k in range(K)])


def predict_labels(probs: torch.Tensor, prob_thd: float = 0.0) -> torch.Tensor:
    """``argmax`` over classes, 0 where the merged max probability is below ``prob_thd`` (T8). ``H x W`` int64."""
    conf, labels = probs.max(dim=0)
    return torch.where(conf < prob_thd, torch.zeros_like(labels), labels)
