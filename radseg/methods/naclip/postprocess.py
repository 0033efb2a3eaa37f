"""Logits -> probabilities and labels (spec 3.6): softmax over queries, synonym max, argmax, threshold.

``logits``: ``Q x H0 x W0`` cosines at the original size; ``query_idx``: the class of each query.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch


def pool_synonyms(probs: torch.Tensor, query_idx: Sequence[int]) -> torch.Tensor:
    """``Q x H x W`` query probabilities -> ``C x H x W``: per class the **max** over its queries.

    The release materialises ``C x Q x H x W`` (its memory quirk); this takes the same maxima one
    class at a time. ``Q == C`` (one query per class): unchanged.
    """
    num_classes = max(query_idx) + 1
    if num_classes == len(query_idx):
        return probs
    idx = torch.as_tensor(list(query_idx), device=probs.device)
    out = probs.new_empty((num_classes,) + tuple(probs.shape[1:]))
    for c in range(num_classes):
        out[c] = probs[(idx == c).nonzero().flatten()].amax(dim=0)
    return out


def postprocess(logits: torch.Tensor, query_idx: Sequence[int], logit_scale: float = 40.0,
                prob_thd: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(probs C x H x W, labels H x W int64)``.

    ``P = softmax(logit_scale * logits)`` over the queries; synonym max-pooling (no renormalisation
    before the decision); ``labels = argmax`` (ties: first index); ``labels[max P < prob_thd] = 0``;
    the returned probabilities are ``P / sum_c P`` (renormalised **after** the labels are fixed,
    the release's stored ``seg_logits``).
    """
    p = (logits * logit_scale).softmax(dim=0)
    p = pool_synonyms(p, query_idx)
    labels = p.argmax(dim=0)
    labels[p.max(dim=0)[0] < prob_thd] = 0
    return p / p.sum(dim=0, keepdim=True), labels
