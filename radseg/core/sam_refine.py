"""RADSeg+: SAM refinement of the coarse prediction (ALGORITHM.md section 7).

Steps, each usable on its own:

* :func:`sam_image_embedding` + :func:`make_predictor`: SAM's ``256 x 64 x 64``
  image embedding from one RADIO pass at 1024 px (``sam`` adaptor + SAM neck);
* :func:`extract_regions`: half-resolution maps, the uncertain label, the
  class gate, 8-connected components, area filter, boxes and points;
* :func:`dense_mask_prompt`: the per-class dense mask prompt (``1 x 256 x 256``);
* :func:`refine_with_sam`: one SAM prompt-encoder + mask-decoder call per class;
* :func:`merge_refined`: IoU gate, merge of the kept masks, failed-region fallback;
* :class:`SAMRefiner`: all of it as the ``sam_refiner`` hook of
  :class:`radseg.RADSegEncoder`.

Every reference quirk is reproduced (and commented where it happens); see
docs/SAM_REFINEMENT.md. The only deliberate departure is behind
``batched_mask_prompt`` (off by default).

Size: one algorithm step (ALGORITHM.md section 7) and its hook, kept in one module so it
reads top to bottom against the spec and docs/SAM_REFINEMENT.md; its parts share the
``Regions``/``SamOutput`` types and the reference's quirks.

Speed: the reference is CPU-bound here (connected components with
scikit-image on host arrays, per-region Python loops, several device<->host
copies). This module copies the half-resolution label map to the host once
per image for :func:`skimage.measure.label` (run once over the whole map, not
once per class), copies the component map back once, and computes every
region's class, area, box and point for all classes at once with torch
scatter reductions on the encoder's device. The 1024 px backbone pass is
skipped when there is no region to prompt, and only kept regions' masks are
upscaled to full resolution.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RADSegConfig as _D  # the one place defaults live
from ..errors import ConfigError
from . import stage_timing

Size = Tuple[int, int]


# ----------------------------------------------------------------------------- embedding
def sam_input_size(h: int, w: int, long_side: int = 1024, embed_size: int = 64) -> Size:
    """Size of the network input resized for SAM: long side ``long_side``, short side
    ``int(short * 64 / long) * 16`` (``embed_size`` = 64 tokens, ``long_side / 64`` = 16 px each).

    Returns ``(h', w')`` in pixels. The short side is at least one token (16 px),
    where the reference's formula would give 0 (aspect ratios above 64:1).
    """
    unit = long_side // embed_size
    long, short = max(h, w), min(h, w)
    s = max(int(short * embed_size / long), 1) * unit
    return (long_side, s) if h >= w else (s, long_side)


@torch.no_grad()
def sam_image_embedding(encoder, img: torch.Tensor, sam) -> Tuple[torch.Tensor, Size]:
    """SAM image embedding from RADIO's ``sam`` adaptor (SAM's trunk is never run).

    Args:
        encoder: a :class:`radseg.RADSegEncoder` (``backbone_features``,
            ``sam_adaptor.feat_mlp``, ``patch_size``).
        img: ``1 x 3 x H x W`` normalised network input.
        sam: ``segment_anything.modeling.Sam`` (only ``image_encoder.neck`` is used here).
    Returns:
        ``(embedding, input_size)``: ``1 x C x 64 x 64`` (C = 256 for ViT-H) and the
        resized input size ``(h', w')`` in pixels (SAM's ``input_size``).
    """
    adaptor = getattr(encoder, "sam_adaptor", None)
    if adaptor is None:
        raise ConfigError("SAM refinement needs RADIO's 'sam' adaptor: build the encoder with need_sam=True.")
    img_size = int(sam.image_encoder.img_size)
    eh, ew = (int(s) for s in sam.prompt_encoder.image_embedding_size)
    if int(encoder.patch_size) * eh != img_size:
        raise ConfigError(f"SAM refinement needs a backbone with patch size {img_size // eh} "
                          f"(this one has {encoder.patch_size}).")
    size = sam_input_size(img.shape[-2], img.shape[-1], img_size, eh)
    x = F.interpolate(img, size=size, mode="bilinear", align_corners=False)
    feats = encoder.backbone_features(x)  # 1 x C_v x h'/16 x w'/16: a view of the 1 x N x C_v tokens
    b, _, fh, fw = feats.shape
    tokens = feats.flatten(2).transpose(1, 2)  # 1 x N x C_v, the backbone's own (contiguous) token layout
    mapped = adaptor.feat_mlp(tokens)  # 1 x N x C_sam (1280 for ViT-H)
    fmap = mapped.reshape(b, fh, fw, -1).permute(0, 3, 1, 2)  # a channels-last view
    # The reference resamples to the same size with antialiasing (a value no-op, tested)
    # and gets standard contiguous NCHW memory back. Here the channels-last layout of the
    # view survives the resample and the pad, so the neck is handed an explicit
    # contiguous copy: its convolutions round differently on channels-last memory
    # (up to ~1.3e-5 in the embedding, enough to flip refined pixels; ALGORITHM.md 7).
    fmap = F.interpolate(fmap, size=(fh, fw), mode="bilinear", antialias=True, align_corners=False)
    fmap = F.pad(fmap, (0, ew - fw, 0, eh - fh))  # zeros bottom/right to 64 x 64
    return sam.image_encoder.neck(fmap.contiguous()), size


def make_predictor(sam, embedding: torch.Tensor, original_size: Size, input_size: Size):
    """A ``segment_anything.SamPredictor`` set up on a precomputed embedding."""
    from segment_anything import SamPredictor
    predictor = SamPredictor(sam)
    predictor.features = embedding
    predictor.is_image_set = True
    predictor.original_size = tuple(int(s) for s in original_size)
    predictor.input_size = tuple(int(s) for s in input_size)
    return predictor


# ----------------------------------------------------------------------------- regions
@dataclass
class Regions:
    """Prompt regions of one image, at half resolution ``(h2, w2) = (H0 // 2, W0 // 2)``.

    Regions are ordered by class (ascending), then in ``skimage.measure.label``
    order within a class. ``R`` is the number of regions.

    Attributes:
        full_size: ``(H0, W0)``.
        half_labels: ``h2 x w2`` int64, ``P`` nearest-downsampled; uncertain pixels are ``K``.
        q_half: ``K x h2 x w2`` float32, ``Q`` bilinearly downsampled.
        components: ``h2 x w2`` int64 component id of each pixel (0: uncertain);
            the ids of :attr:`ids` index it.
        ids: ``R`` component ids.
        classes: ``R`` int64 class of each region (non-decreasing).
        areas: ``R`` int64 pixel counts (half res).
        boxes: ``R x 4`` float32 ``x1, y1, x2, y2`` (inclusive, half-res pixels), like
            ``torchvision.ops.masks_to_boxes``.
        points: ``R x 2`` float32 ``(x, y)``, argmax of the flattened ``Q[c] * mask``.
        runs: ``(class, start, stop)`` per class, known on the host (so that
            :meth:`class_slices` needs no device->host copy); ``None``: derived from ``classes``.
        num_components: ``max(components) + 1`` when known on the host (else -1).
    """
    full_size: Size
    half_labels: torch.Tensor
    q_half: torch.Tensor
    components: torch.Tensor
    ids: torch.Tensor
    classes: torch.Tensor
    areas: torch.Tensor
    boxes: torch.Tensor
    points: torch.Tensor
    runs: Optional[List[Tuple[int, int, int]]] = None
    num_components: int = -1

    @property
    def half_size(self) -> Size:
        return tuple(self.half_labels.shape)

    @property
    def num_classes(self) -> int:
        return int(self.q_half.shape[0])

    def __len__(self) -> int:
        return int(self.ids.numel())

    def masks(self, index=None) -> torch.Tensor:
        """``R x h2 x w2`` bool masks of the regions (or of ``ids[index]``)."""
        ids = self.ids if index is None else self.ids[index].reshape(-1)
        return self.components[None] == ids[:, None, None]

    def class_slices(self) -> List[Tuple[int, int, int]]:
        """``(class, start, stop)`` of each class's run of regions, classes ascending."""
        if self.runs is not None:
            return list(self.runs)
        cls = self.classes.tolist()
        out, start = [], 0
        for i in range(1, len(cls) + 1):
            if i == len(cls) or cls[i] != cls[start]:
                out.append((cls[start], start, i))
                start = i
        return out


def half_resolution(labels: torch.Tensor, probs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``P`` nearest and ``Q`` bilinear (``align_corners=False``) to ``(H0 // 2, W0 // 2)``.

    ``nearest`` is PyTorch's legacy mode: source index ``floor(i * in / out)``
    (for an even size, the even rows and columns). ``Q`` is resized in the
    memory layout the encoder produced it in (no contiguous copy). An image with a side of
    1 pixel has an empty frame (``h2`` or ``w2`` is 0; ``F.interpolate`` refuses a 0 size):
    empty maps of that shape, so it has no region and is never refined.
    """
    h2, w2 = labels.shape[-2] // 2, labels.shape[-1] // 2
    if h2 == 0 or w2 == 0:
        return labels.new_zeros((h2, w2)), probs.new_zeros((probs.shape[0], h2, w2))
    p = F.interpolate(labels[None, None].float(), size=(h2, w2), mode="nearest")[0, 0].long()
    q = F.interpolate(probs[None], size=(h2, w2), mode="bilinear", align_corners=False)[0]
    return p, q


def _class_runs(rcls_np: np.ndarray) -> List[Tuple[int, int, int]]:
    """``[(class, start, end)]``: the runs of equal classes in the regions' (sorted) class list."""
    runs: List[Tuple[int, int, int]] = []
    for i, c in enumerate(rcls_np.tolist()):
        if runs and runs[-1][0] == c:
            runs[-1] = (c, runs[-1][1], i + 1)
        else:
            runs.append((c, i, i + 1))
    return runs


def _boxes_and_points(comp: torch.Tensor, p: torch.Tensor, q: torch.Tensor, ids: torch.Tensor, m: int):
    """``(R x 4 boxes (x1, y1, x2, y2), R x 2 points (x, y))`` float, half resolution, of the
    components ``ids`` of ``comp`` (``h2 x w2`` component ids, ``m`` slots); ``p``: the half-res
    labels, ``q``: the ``K x h2 x w2`` half-res probabilities."""
    K = q.shape[0]
    dev = q.device
    h2, w2 = p.shape
    # Boxes and points on the device, all components at once (scatter reductions over pixels).
    # Deliberately not torchvision.ops.masks_to_boxes: that needs one dense mask per region
    # (R x h2 x w2); these reductions give the same boxes (tested against it) in one pass.
    flat = comp.reshape(-1)
    pix_cls = p.reshape(-1)
    idx = torch.arange(h2 * w2, device=dev)
    ys, xs = idx // w2, idx % w2
    big = h2 * w2
    x1 = torch.full((m,), big, device=dev).scatter_reduce(0, flat, xs, "amin")
    y1 = torch.full((m,), big, device=dev).scatter_reduce(0, flat, ys, "amin")
    x2 = torch.full((m,), -1, device=dev).scatter_reduce(0, flat, xs, "amax")
    y2 = torch.full((m,), -1, device=dev).scatter_reduce(0, flat, ys, "amax")
    # Point: argmax of the flattened ``Q[c] * mask``. Inside a component the product is
    # Q[c] (Q >= 0) and 0 outside, so it is the first pixel (row-major) holding the
    # component's max of Q[c]; if that max is 0 the product is all zeros and argmax is 0.
    # (Pixels off the maximum get the index ``big``: no boolean indexing, no host sync.)
    own = q.reshape(K, -1).gather(0, pix_cls.clamp(max=K - 1)[None])[0]
    cmax = torch.zeros(m, dtype=q.dtype, device=dev).scatter_reduce(0, flat, own, "amax")
    at_max = own == cmax[flat]
    first = torch.full((m,), big, device=dev).scatter_reduce(
        0, flat, torch.where(at_max, idx, torch.full_like(idx, big)), "amin")
    first = torch.where(cmax > 0, first, torch.zeros_like(first))

    boxes = torch.stack([x1[ids], y1[ids], x2[ids], y2[ids]], dim=1).float()
    pt = first[ids]
    points = torch.stack([pt % w2, pt // w2], dim=1).float()
    return boxes, points


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
    if h2 == 0 or w2 == 0:  # a side of 1 pixel: an empty half-resolution frame holds no region
        empty = torch.zeros(0, dtype=torch.int64, device=dev)
        return Regions((labels.shape[-2], labels.shape[-1]), p, q, torch.zeros_like(p), empty, empty, empty,
                       torch.zeros(0, 4, device=dev), torch.zeros(0, 2, device=dev), runs=[], num_components=1)
    p.masked_fill_(q.amax(dim=0) < coarse_thresh, K)  # the uncertain label, never refined
    gate = q.amax(dim=(1, 2)) >= coarse_thresh  # per-class gate, at half resolution

    # CPU-bound part of the reference: 8-connected components. ONE device->host copy per
    # image (the label map and the class gate packed together) and one labelling of the
    # whole map: skimage numbers components in raster order of their first pixel, so the
    # ids of one class's components come in the same order as ``label(P == c,
    # connectivity=2)`` numbers them (tested against that).
    packed = torch.cat([p.reshape(-1), gate.to(torch.int64)]).cpu()
    p_np = packed[:h2 * w2].numpy().reshape(h2, w2)
    gate_np = packed[h2 * w2:].numpy().astype(bool)
    comp_np = sk_label(p_np, background=K, connectivity=2)
    n = int(comp_np.max())
    comp = _to_device(torch.from_numpy(comp_np.astype(np.int64, copy=False)), dev)
    empty = torch.zeros(0, dtype=torch.int64, device=dev)
    if n == 0:
        return Regions((labels.shape[-2], labels.shape[-1]), p, q, comp, empty, empty, empty,
                       torch.zeros(0, 4, device=dev), torch.zeros(0, 2, device=dev), runs=[], num_components=1)

    # Which components become regions, on the host (integer counts, exact): their class,
    # area, gate and order are known here, so no device->host copy is needed for them.
    m = n + 1  # slot 0 collects the uncertain pixels and is discarded
    flat_np = comp_np.reshape(-1)
    cls_np = np.full(m, K, dtype=np.int64)
    cls_np[flat_np] = p_np.reshape(-1)  # every pixel of a component has its class
    areas_np = np.bincount(flat_np, minlength=m).astype(np.int64)
    ids_np = np.arange(m, dtype=np.int64)
    keep = (ids_np > 0) & (cls_np < K)
    keep &= gate_np[np.minimum(cls_np, K - 1)] & (areas_np >= minimal_area)
    ids_np = ids_np[keep]
    ids_np = ids_np[np.argsort(cls_np[ids_np] * m + ids_np, kind="stable")]  # ascending class, then skimage order
    rcls_np = cls_np[ids_np]
    runs = _class_runs(rcls_np)
    ids, rcls, rareas = _to_device(torch.from_numpy(np.stack([ids_np, rcls_np, areas_np[ids_np]])), dev)

    boxes, points = _boxes_and_points(comp, p, q, ids, m)
    return Regions((labels.shape[-2], labels.shape[-1]), p, q, comp, ids, rcls, rareas, boxes, points,
                   runs=runs, num_components=m)


def _to_device(t: torch.Tensor, dev: torch.device) -> torch.Tensor:
    """Host -> device copy; on CUDA from pinned memory without blocking (no host sync)."""
    if torch.device(dev).type == "cuda":
        return t.pin_memory().to(dev, non_blocking=True)
    return t.to(dev)


# ----------------------------------------------------------------------------- prompts / SAM
def dense_mask_prompt(q_half_c: torch.Tensor, original_size: Size,
                      coarse_thresh: float = _D.coarse_thresh, sam_mask_coff: float = _D.sam_mask_coff,
                      size: int = 256) -> torch.Tensor:
    """Dense mask prompt of one class: ``1 x 256 x 256`` (3-D, no batch axis: the reference's).

    ``q_half_c`` (``h2 x w2``, half-res ``Q[c]``) is resized bilinearly
    (``align_corners=False``) to SAM's ``ResizeLongestSide(256)`` size of the
    *original* size ``(H0, W0)``, zero-padded bottom/right to ``256 x 256``;
    values ``> coarse_thresh`` are multiplied by ``sam_mask_coff``, the rest set to 0.
    """
    from segment_anything.utils.transforms import ResizeLongestSide
    th, tw = ResizeLongestSide.get_preprocess_shape(int(original_size[0]), int(original_size[1]), size)
    m = F.interpolate(q_half_c[None, None], size=(th, tw), mode="bilinear", align_corners=False)
    m = F.pad(m, (0, size - tw, 0, size - th))[0]
    return torch.where(m > coarse_thresh, m * sam_mask_coff, torch.zeros_like(m))


@torch.no_grad()
def sam_decode(predictor, point_coords, point_labels, boxes, mask_input) -> Tuple[torch.Tensor, torch.Tensor]:
    """``SamPredictor.predict_torch(..., multimask_output=False)`` without the upscaling.

    The same prompt-encoder and mask-decoder calls; returns ``(low_res_logits
    B x 1 x 256 x 256, iou_predictions B x 1)``. Upscaling is left to
    :func:`merge_refined`, which runs it only for the kept regions
    (bit-identical to what ``predict_torch`` computes for them; tested).
    """
    model = predictor.model
    sparse, dense = model.prompt_encoder(points=(point_coords, point_labels), boxes=boxes, masks=mask_input)
    return model.mask_decoder(image_embeddings=predictor.features, image_pe=model.prompt_encoder.get_dense_pe(),
                              sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                              multimask_output=False)


@contextlib.contextmanager
def positive_points_only(prompt_encoder):
    """Within the block, SAM's point embedding assumes every point label is 1 and runs without host syncs.

    Bit-identical to SAM's ``_embed_points`` for all-positive labels and no padding
    (tested): its four boolean-mask updates (``labels == -1`` twice, ``== 0``, ``== 1``)
    then reduce to adding the positive-point weight to every row, the same float
    addition; but each boolean update costs a device->host sync on CUDA (``nonzero``),
    four per SAM call. Only :func:`refine_with_sam`, which builds its labels as ones,
    uses it. With padding (no box), SAM's own method runs.
    """
    pe = prompt_encoder
    original = type(pe)._embed_points

    def embed(points, labels, pad):
        if pad:
            return original(pe, points, labels, pad)
        emb = pe.pe_layer.forward_with_coords(points + 0.5, pe.input_image_size)  # +0.5: pixel centre
        return emb + pe.point_embeddings[1].weight

    pe._embed_points = embed
    try:
        yield
    finally:
        del pe._embed_points


@dataclass
class SamOutput:
    """SAM's answer per region: ``iou`` ``R`` float32, ``low_res`` ``R x 1 x 256 x 256`` logits."""
    iou: torch.Tensor
    low_res: torch.Tensor


@torch.no_grad()
def refine_with_sam(predictor, regions: Regions, coarse_thresh: float = 0.10, sam_mask_coff: float = 0.005,
                    batched_mask_prompt: bool = False, batch_classes: bool = False,
                    half_precision: bool = False) -> SamOutput:
    """One SAM call per class (ascending), all of the class's regions as one batch.

    Each region gets its box and one positive point, both mapped with
    ``predictor.transform`` (``ResizeLongestSide(1024)``) taking the *half-res*
    size as the original size, and the class's :func:`dense_mask_prompt`.

    ``batched_mask_prompt=False`` (reference): the prompt goes in as a 3-D
    ``1 x 256 x 256`` tensor; PyTorch then runs SAM's mask-downscaling convs
    unbatched and its ``LayerNorm2d`` (which normalises axis 1) normalises over
    the image *height* instead of the channels. ``True``: a ``1 x 1 x 256 x 256``
    batch (the intended SAM input; the dense embedding broadcasts to all regions).

    Exact mode runs the mask decoder once per class, as the reference does: the
    decoder's GEMMs, convolutions and attention then see the reference's batch shapes.
    ``batch_classes=True`` (fast mode) computes each class's dense embedding on its own
    (the unbatched quirk kept) and runs ONE decoder call over all regions; on the CPU this
    matched the per-class calls bit for bit in our tests, but kernel choice on CUDA
    depends on the batch size, so it is not part of exact mode. ``half_precision``: bf16
    autocast for the prompt encoder and decoder (fast mode); outputs returned in float32.
    """
    half = regions.half_size
    tf = predictor.transform
    model = predictor.model
    pe = model.prompt_encoder
    dev = regions.q_half.device
    slices = regions.class_slices()
    if not slices:
        return SamOutput(torch.zeros(0, device=dev), torch.zeros(0, 1, 256, 256, device=dev))
    ctx = (torch.autocast(dev.type, dtype=torch.bfloat16) if half_precision else contextlib.nullcontext())
    # All regions' prompts mapped at once: elementwise, so the same bits as per class.
    pts_all = tf.apply_coords_torch(regions.points[:, None, :], half)  # R x 1 x 2
    bxs_all = tf.apply_boxes_torch(regions.boxes, half)  # R x 4
    ious, lows, denses, sparses = [], [], [], []
    with ctx, positive_points_only(pe):
        image_pe = pe.get_dense_pe()  # deterministic: computed once per image
        for c, a, b in slices:
            mask = dense_mask_prompt(regions.q_half[c], regions.full_size, coarse_thresh, sam_mask_coff)
            if batched_mask_prompt:
                mask = mask[None]
            lbl = torch.ones(b - a, 1, dtype=torch.int, device=dev)  # one positive point each
            sparse, dense = pe(points=(pts_all[a:b], lbl), boxes=bxs_all[a:b], masks=mask)
            if batch_classes:
                sparses.append(sparse)
                denses.append(dense.reshape(1, *dense.shape[-3:]).expand(b - a, -1, -1, -1))
                continue
            low, iou = model.mask_decoder(image_embeddings=predictor.features, image_pe=image_pe,
                                          sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                          multimask_output=False)
            lows.append(low)
            ious.append(iou[:, 0])
        if batch_classes:
            low, iou = model.mask_decoder(image_embeddings=predictor.features, image_pe=image_pe,
                                          sparse_prompt_embeddings=torch.cat(sparses),
                                          dense_prompt_embeddings=torch.cat(denses), multimask_output=False)
            lows, ious = [low], [iou[:, 0]]
    return SamOutput(torch.cat(ious).float(), torch.cat(lows).float())


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
    # The merge's one device->host copy: how many regions are kept (the upscaling's batch
    # size). Kept and failed regions are then selected with index tensors computed on the
    # device (a stable sort puts the kept ones first, in region order): no boolean indexing,
    # which would cost one sync each.
    n_kept = int(kept.sum())
    if n_kept == 0:
        return labels, probs  # unchanged, even when regions failed
    H0, W0 = labels.shape[-2:]
    order = torch.argsort((~kept).to(torch.uint8), stable=True)
    kept_idx, failed_idx = order[:n_kept], order[n_kept:]
    kept_cls = regions.classes.index_select(0, kept_idx)  # R_kept, ascending (region order)
    # One upscaling and one sigmoid over all kept regions stacked in region order, as
    # the reference does; per-class calls can differ in the last bit (ALGORITHM.md 7).
    low = sam_out.low_res.index_select(0, kept_idx)
    logits = sam.postprocess_masks(low, input_size, (H0, W0))[:, 0]  # R_kept x H0 x W0
    sig = torch.sigmoid(logits)
    inside = (logits > sam.mask_threshold).to(sig.dtype)
    # Per class: max over its kept regions of sigmoid * Q[c], masked to the union of their
    # binary masks; 0 for classes with none kept. max is exact and rounding x -> x * q is
    # monotonic for q >= 0, so max(sigmoid) * Q[c] == max(sigmoid * Q[c]) bit for bit
    # (tested), whatever the reduction order.
    zeros = torch.zeros(probs.shape, dtype=probs.dtype, device=probs.device)
    idx = kept_cls[:, None, None].expand_as(sig)  # scatter_reduce: index_reduce is a beta API that warns
    best = zeros.scatter_reduce(0, idx, sig, "amax")
    union = zeros.scatter_reduce(0, idx, inside, "amax") > 0
    refined = torch.where(union, best * probs, zeros)
    out = refined.argmax(dim=0)
    out = torch.where(refined.amax(dim=0) == 0, labels, out)  # no refined score: keep P

    if failed_idx.numel():
        failed = regions.ids.index_select(0, failed_idx)
        if regions.num_components > 0:  # a lookup table instead of isin (whose sort-unique syncs on CUDA)
            lut = torch.zeros(regions.num_components, dtype=torch.bool, device=failed.device)
            half_fail = lut.index_fill(0, failed, True)[regions.components]
        else:
            half_fail = torch.isin(regions.components, failed)
        fail = F.interpolate(half_fail[None, None].float(), size=(H0, W0), mode="nearest")[0, 0] > 0
        refined = torch.where(fail, torch.maximum(refined, probs), refined)
        # Reference quirk: "label = P where the coarse max exceeds the refined max" inside
        # the failed regions. The refined scores there were just raised to >= Q, so this
        # never fires (a no-op kept literally): failed regions change scores, not labels.
        out = torch.where(fail & (probs.amax(dim=0) > refined.amax(dim=0)), labels, out)
    return out, refined


# ----------------------------------------------------------------------------- hook
class SAMRefiner:
    """RADSeg+ as the encoder's ``sam_refiner`` hook.

    Args:
        sam: ``segment_anything.modeling.Sam`` (e.g. :func:`radseg.models.sam.load_sam`);
            moved to the image's device on first use.
        coarse_thresh: uncertain-pixel and class-gate threshold (per dataset; 0.10 default).
        minimal_area: smallest kept component, half-res pixels.
        sam_mask_coff: scale of the dense mask prompt.
        sam_iou_thresh: keep a SAM mask iff its predicted IoU is strictly greater.
        batched_mask_prompt: hand SAM a batched mask prompt (corrected; off = reference).
        fast: fast mode (also on when the encoder's ``fast`` is): one mask-decoder call for all
            classes and bf16 autocast for SAM's prompt encoder and decoder (not bit-exact).
    """

    def __init__(self, sam, coarse_thresh: float = _D.coarse_thresh, minimal_area: int = _D.minimal_area,
                 sam_mask_coff: float = _D.sam_mask_coff, sam_iou_thresh: float = _D.sam_iou_thresh,
                 batched_mask_prompt: bool = _D.batched_mask_prompt, fast: bool = _D.fast):
        self.sam = sam.eval()
        self.fast = bool(fast)
        self.coarse_thresh = float(coarse_thresh)
        self.minimal_area = int(minimal_area)
        self.sam_mask_coff = float(sam_mask_coff)
        self.sam_iou_thresh = float(sam_iou_thresh)
        self.batched_mask_prompt = bool(batched_mask_prompt)

    #: the refiner's settings among :class:`radseg.config.RADSegConfig`'s fields
    CONFIG_KEYS = ("coarse_thresh", "minimal_area", "sam_mask_coff", "sam_iou_thresh", "batched_mask_prompt",
                   "fast")

    def configure(self, config) -> None:
        """Apply ``config``'s :attr:`CONFIG_KEYS` to this refiner (the SAM model is kept)."""
        self.__init__(self.sam, **{k: getattr(config, k) for k in self.CONFIG_KEYS})

    @classmethod
    def from_config(cls, sam, config) -> SAMRefiner:
        """A refiner with the settings of ``config`` (a :class:`radseg.config.RADSegConfig`)."""
        return cls(sam, **{k: getattr(config, k) for k in cls.CONFIG_KEYS})

    @torch.no_grad()
    def __call__(self, encoder, img: torch.Tensor, labels: torch.Tensor,
                 probs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``img`` ``1 x 3 x H x W`` normalised; ``labels`` ``H0 x W0``; ``probs`` ``K x H0 x W0``."""
        # Optional stage timer (radseg bench): ``encoder.timer.stage(name)``; a shared no-op otherwise.
        timer = getattr(encoder, "timer", None)
        stage = functools.partial(stage_timing.stage, timer)
        fast = self.fast or bool(getattr(encoder, "fast", False))
        with stage("regions"):
            regions = extract_regions(labels, probs, self.coarse_thresh, self.minimal_area)
        if len(regions) == 0:
            return labels, probs
        if self.sam.device != probs.device:
            self.sam.to(probs.device)
        with stage("sam_embedding"):
            if getattr(encoder, "sam_adaptor", None) is None:  # C-RADIOv4: SAM's own image encoder
                from .sam_trunk import trunk_image_embedding
                emb, input_size = trunk_image_embedding(encoder, img, self.sam)
            else:
                emb, input_size = sam_image_embedding(encoder, img, self.sam)
            predictor = make_predictor(self.sam, emb, labels.shape[-2:], input_size)
        with stage("sam_decoder"):
            sam_out = refine_with_sam(predictor, regions, self.coarse_thresh, self.sam_mask_coff,
                                      self.batched_mask_prompt, batch_classes=fast, half_precision=fast)
        with stage("merge"):
            return merge_refined(labels, probs, regions, sam_out, self.sam, input_size, self.sam_iou_thresh)
