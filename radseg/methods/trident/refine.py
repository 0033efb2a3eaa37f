"""Trident's SAM refinement (TRIDENT.md section 2b; trap T12), on RADSeg's section-7 code.

The release's ``seg_utils.utils.sam_refinement`` is the procedure RADSeg+ inherited (RADSeg's
ALGORITHM.md section 7): half-resolution maps, the uncertain label, 8-connected components of at
least ``minimal_area`` pixels, one positive point and a box per component, a per-class dense mask
prompt, one SAM call per class, the IoU gate and the merge. So :mod:`radseg.core.sam_refine`'s
functions run it with Trident's values (``sam_iou_thresh`` 0.80, its ``coarse_thresh`` per benchmark)
and two Trident facts: the boxes are cast to int64 (``type_as`` the label tensor) before SAM's
coordinate transform, and SAM's embedding is the encoder pass of the SAM branch (step A), not a
RADIO adaptor.
"""
from __future__ import annotations

from typing import Tuple

import torch

from ...core.sam_refine import extract_regions, make_predictor, merge_refined, refine_with_sam
from .sam_branch import SamFeatures


@torch.no_grad()
def sam_refinement(sam, feats: SamFeatures, labels: torch.Tensor, probs: torch.Tensor,
                   coarse_thresh: float = 0.2, minimal_area: int = 225, sam_mask_coff: float = 0.005,
                   sam_iou_thresh: float = 0.80) -> Tuple[torch.Tensor, torch.Tensor]:
    """``labels`` ``H0 x W0`` int64, ``probs`` ``K x H0 x W0`` (merged) -> refined ``(labels, scores)``;
    the inputs themselves when no component is prompted or none is accepted."""
    regions = extract_regions(labels, probs, coarse_thresh, minimal_area)
    if len(regions) == 0:
        return labels, probs
    regions.boxes = regions.boxes.to(labels.dtype)  # masks_to_boxes(...).type_as(label): int64 (T12)
    emb = feats.embedding.to(probs.dtype)
    predictor = make_predictor(sam, emb, tuple(labels.shape[-2:]), feats.input_size)
    out = refine_with_sam(predictor, regions, coarse_thresh, sam_mask_coff)
    return merge_refined(labels, probs, regions, out, sam, feats.input_size, sam_iou_thresh)
