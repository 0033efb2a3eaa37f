"""The previous (committed) implementations of region extraction, the per-class SAM calls and
the merge, kept verbatim as test oracles for the sync-free versions in radseg/sam_refine.py."""
from typing import Tuple

Size = Tuple[int, int]

import torch
import torch.nn.functional as F

from radseg.config import RADSegConfig as _D
from radseg.core.sam_refine import Regions, SamOutput, dense_mask_prompt, half_resolution, sam_decode


def extract_regions(labels: torch.Tensor, probs: torch.Tensor,
                    coarse_thresh: float = _D.coarse_thresh, minimal_area: int = _D.minimal_area) -> Regions:
    """Regions to prompt SAM with (ALGORITHM.md section 7, "Regions").

    Args:
        labels: ``H0 x W0`` int64 coarse prediction ``P``.
        probs: ``K x H0 x W0`` float32 denoised probabilities ``Q``.
        coarse_thresh: pixels whose max probability is below it are "uncertain"
            (label ``K``); classes whose max half-res probability is below it get no region.
        minimal_area: components with fewer half-res pixels are dropped (``>=`` keeps).
    """
    from skimage.measure import label as sk_label
    K = probs.shape[0]
    dev = probs.device
    p, q = half_resolution(labels, probs)
    h2, w2 = p.shape
    p[q.amax(dim=0) < coarse_thresh] = K  # the uncertain label, never refined
    gate = q.amax(dim=(1, 2)) >= coarse_thresh  # per-class gate, at half resolution

    # CPU-bound part of the reference: 8-connected components. One host copy and one
    # labelling of the whole map: skimage numbers components in raster order of their
    # first pixel, so the ids of one class's components come in the same order as
    # ``label(P == c, connectivity=2)`` numbers them (tested against that).
    comp_np = sk_label(p.cpu().numpy(), background=K, connectivity=2)
    n = int(comp_np.max())
    comp = torch.from_numpy(comp_np).to(dev, torch.int64)
    empty = torch.zeros(0, dtype=torch.int64, device=dev)
    if n == 0:
        return Regions((labels.shape[-2], labels.shape[-1]), p, q, comp, empty, empty, empty,
                       torch.zeros(0, 4, device=dev), torch.zeros(0, 2, device=dev))

    # Per-component statistics, all classes at once (scatter reductions over pixels).
    # Deliberately not torchvision.ops.masks_to_boxes: that needs one dense mask per region
    # (R x h2 x w2); these reductions give the same boxes (tested against it) in one pass.
    flat = comp.reshape(-1)
    pix_cls = p.reshape(-1)
    idx = torch.arange(h2 * w2, device=dev)
    ys, xs = idx // w2, idx % w2
    m = n + 1  # slot 0 collects the uncertain pixels and is discarded
    comp_cls = torch.full((m,), K, dtype=torch.int64, device=dev).scatter_(0, flat, pix_cls)
    areas = torch.bincount(flat, minlength=m)
    big = h2 * w2
    x1 = torch.full((m,), big, device=dev).scatter_reduce(0, flat, xs, "amin")
    y1 = torch.full((m,), big, device=dev).scatter_reduce(0, flat, ys, "amin")
    x2 = torch.full((m,), -1, device=dev).scatter_reduce(0, flat, xs, "amax")
    y2 = torch.full((m,), -1, device=dev).scatter_reduce(0, flat, ys, "amax")
    # Point: argmax of the flattened ``Q[c] * mask``. Inside a component the product is
    # Q[c] (Q >= 0) and 0 outside, so it is the first pixel (row-major) holding the
    # component's max of Q[c]; if that max is 0 the product is all zeros and argmax is 0.
    own = q.reshape(K, -1).gather(0, pix_cls.clamp(max=K - 1)[None])[0]
    cmax = torch.zeros(m, dtype=q.dtype, device=dev).scatter_reduce(0, flat, own, "amax")
    at_max = own == cmax[flat]
    first = torch.full((m,), big, device=dev).scatter_reduce(0, flat[at_max], idx[at_max], "amin")
    first = torch.where(cmax > 0, first, torch.zeros_like(first))

    ids = torch.arange(m, device=dev)
    keep = (ids > 0) & (comp_cls < K)
    keep &= gate[comp_cls.clamp(max=K - 1)] & (areas >= minimal_area)
    ids = ids[keep]
    order = torch.argsort(comp_cls[ids] * m + ids)  # ascending class, then skimage order
    ids = ids[order]
    boxes = torch.stack([x1[ids], y1[ids], x2[ids], y2[ids]], dim=1).float()
    pt = first[ids]
    points = torch.stack([pt % w2, pt // w2], dim=1).float()
    return Regions((labels.shape[-2], labels.shape[-1]), p, q, comp, ids, comp_cls[ids], areas[ids],
                   boxes, points)


@torch.no_grad()
def refine_with_sam(predictor, regions: Regions, coarse_thresh: float = _D.coarse_thresh,
                    sam_mask_coff: float = _D.sam_mask_coff,
                    batched_mask_prompt: bool = _D.batched_mask_prompt) -> SamOutput:
    """One SAM call per class (ascending), all of the class's regions as one batch.

    Each region gets its box and one positive point, both mapped with
    ``predictor.transform`` (``ResizeLongestSide(1024)``) taking the *half-res*
    size as the original size, and the class's :func:`dense_mask_prompt`.

    ``batched_mask_prompt=False`` (reference): the prompt goes in as a 3-D
    ``1 x 256 x 256`` tensor; PyTorch then runs SAM's mask-downscaling convs
    unbatched and its ``LayerNorm2d`` (which normalises axis 1) normalises over
    the image *height* instead of the channels. ``True``: a ``1 x 1 x 256 x 256``
    batch (the intended SAM input; the dense embedding broadcasts to all regions).
    """
    half = regions.half_size
    tf = predictor.transform
    ious, lows = [], []
    for c, a, b in regions.class_slices():
        mask = dense_mask_prompt(regions.q_half[c], regions.full_size, coarse_thresh, sam_mask_coff)
        if batched_mask_prompt:
            mask = mask[None]
        pts = tf.apply_coords_torch(regions.points[a:b, None, :], half)  # B x 1 x 2
        lbl = torch.ones(b - a, 1, dtype=torch.int, device=pts.device)  # one positive point each
        bxs = tf.apply_boxes_torch(regions.boxes[a:b], half)  # B x 4
        low, iou = sam_decode(predictor, pts, lbl, bxs, mask)
        lows.append(low)
        ious.append(iou[:, 0])
    if not lows:
        dev = regions.q_half.device
        return SamOutput(torch.zeros(0, device=dev), torch.zeros(0, 1, 256, 256, device=dev))
    return SamOutput(torch.cat(ious), torch.cat(lows))


# ----------------------------------------------------------------------------- merge
@torch.no_grad()
def merge_refined(labels: torch.Tensor, probs: torch.Tensor, regions: Regions, sam_out: SamOutput, sam,
                  input_size: Size, sam_iou_thresh: float = _D.sam_iou_thresh) -> Tuple[torch.Tensor, torch.Tensor]:
    """Keep/fail regions by IoU and merge (ALGORITHM.md section 7, "Keep or fail" and "Merge").

    Args:
        labels: ``H0 x W0`` int64 ``P``; probs: ``K x H0 x W0`` float32 ``Q``.
        regions, sam_out: from :func:`extract_regions` and :func:`refine_with_sam`.
        sam: for ``postprocess_masks``; input_size: SAM's resized input size.
        sam_iou_thresh: a region is kept iff its predicted IoU is strictly greater.
    Returns:
        ``(labels H0 x W0 int64, scores K x H0 x W0 float32)``; ``(labels, probs)``
        themselves if no region is kept.
    """
    kept = sam_out.iou > sam_iou_thresh
    if not bool(kept.any()):
        return labels, probs  # unchanged, even when regions failed
    H0, W0 = labels.shape[-2:]
    kept_cls = regions.classes[kept]  # R_kept, ascending (region order)
    # One upscaling and one sigmoid over all kept regions stacked in region order, as
    # the reference does; per-class calls can differ in the last bit (ALGORITHM.md 7).
    logits = sam.postprocess_masks(sam_out.low_res[kept], input_size, (H0, W0))[:, 0]  # R_kept x H0 x W0
    sig = torch.sigmoid(logits)
    inside = (logits > sam.mask_threshold).to(sig.dtype)
    # Per class: max over its kept regions of sigmoid * Q[c], masked to the union of their
    # binary masks; 0 for classes with none kept. max is exact and rounding x -> x * q is
    # monotonic for q >= 0, so max(sigmoid) * Q[c] == max(sigmoid * Q[c]) bit for bit
    # (tested), whatever the reduction order.
    zeros = torch.zeros(probs.shape, dtype=probs.dtype, device=probs.device)
    best = zeros.index_reduce(0, kept_cls, sig, "amax")
    union = zeros.index_reduce(0, kept_cls, inside, "amax") > 0
    refined = torch.where(union, best * probs, zeros)
    out = refined.argmax(dim=0)
    out = torch.where(refined.amax(dim=0) == 0, labels, out)  # no refined score: keep P

    failed = regions.ids[~kept]
    if failed.numel():
        half_fail = torch.isin(regions.components, failed)
        fail = F.interpolate(half_fail[None, None].float(), size=(H0, W0), mode="nearest")[0, 0] > 0
        refined = torch.where(fail, torch.maximum(refined, probs), refined)
        # Reference quirk: "label = P where the coarse max exceeds the refined max" inside
        # the failed regions. The refined scores there were just raised to >= Q, so this
        # never fires (a no-op kept literally): failed regions change scores, not labels.
        out = torch.where(fail & (probs.amax(dim=0) > refined.amax(dim=0)), labels, out)
    return out, refined


