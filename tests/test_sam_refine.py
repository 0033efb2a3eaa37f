"""RADSeg+ SAM refinement (ALGORITHM.md section 7): every step and quirk on constructed inputs."""
import pytest
import torch
import torch.nn.functional as F

from radseg.core.sam_refine import (
    SamOutput,
    SAMRefiner,
    dense_mask_prompt,
    extract_regions,
    half_resolution,
    make_predictor,
    merge_refined,
    refine_with_sam,
    sam_decode,
    sam_image_embedding,
    sam_input_size,
)
from radseg.models.sam import build_tiny_sam


def up2(t: torch.Tensor) -> torch.Tensor:
    """Half-res design -> full res by 2 x 2 blocks (nearest and bilinear halving give it back exactly)."""
    return t.repeat_interleave(2, -1).repeat_interleave(2, -2)


def design(h2, w2, K, fill_p, fill_q):
    """Half-res P (h2 x w2) and Q (K x h2 x w2) filled with a default label / probability vector."""
    p = torch.full((h2, w2), fill_p, dtype=torch.int64)
    q = torch.tensor(fill_q, dtype=torch.float32)[:, None, None].repeat(1, h2, w2)
    return p, q


def put(p, q, rows, cols, label, probs):
    rows, cols = (slice(i, i + 1) if isinstance(i, int) else i for i in (rows, cols))
    p[rows, cols] = label
    q[:, rows, cols] = torch.tensor(probs, dtype=torch.float32)[:, None, None]


@pytest.fixture(scope="module")
def sam():
    return build_tiny_sam(seed=0)


# --------------------------------------------------------------------------- reference oracle
def naive_regions(P, Q, thr, min_area):
    """ALGORITHM.md section 7 "Regions", literally: per class, skimage per class, per-region loops."""
    from skimage.measure import label
    from torchvision.ops import masks_to_boxes
    K = Q.shape[0]
    h2, w2 = P.shape[0] // 2, P.shape[1] // 2
    p = F.interpolate(P[None, None].float(), size=(h2, w2), mode="nearest")[0, 0].long()
    q = F.interpolate(Q[None], size=(h2, w2), mode="bilinear", align_corners=False)[0]
    p[q.max(0)[0] < thr] = K
    out = []
    for c in range(K):
        if q[c].max() < thr:
            continue
        lab = label((p == c).numpy(), connectivity=2)
        for r in range(1, lab.max() + 1):
            mask = torch.from_numpy(lab == r)
            if mask.sum() < min_area:
                continue
            box = masks_to_boxes(mask[None])[0]
            i = int((q[c] * mask).flatten().argmax())
            out.append((c, mask, box, (i % w2, i // w2)))
    return out


def smooth_inputs(seed, H0, W0, K, quantise=True):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(1, K, 5, 7, generator=g) * 4
    prob = torch.softmax(F.interpolate(logits, size=(H0, W0), mode="bilinear", align_corners=False), 1)[0]
    if quantise:  # plateaus -> ties in the point argmax
        prob = torch.round(prob * 8) / 8
    prob[K - 1] *= 0.05  # one class below every threshold
    return prob.argmax(0), prob


@pytest.mark.parametrize("seed,H0,W0,thr,min_area", [
    (0, 64, 80, 0.1, 1), (1, 63, 81, 0.2, 5), (2, 101, 57, 0.05, 20), (3, 90, 90, 0.15, 225),
    (4, 47, 120, 0.1, 3)])
def test_regions_match_literal_reference(seed, H0, W0, thr, min_area):
    P, Q = smooth_inputs(seed, H0, W0, K=5, quantise=seed % 2 == 0)
    ref = naive_regions(P, Q, thr, min_area)
    reg = extract_regions(P, Q, thr, min_area)
    assert len(ref) > 1 and len(reg) == len(ref)
    assert reg.classes.tolist() == [r[0] for r in ref]
    for i, (_c, mask, box, pt) in enumerate(ref):
        assert torch.equal(reg.masks(i)[0], mask)
        assert torch.equal(reg.boxes[i], box)
        assert reg.points[i].tolist() == [float(pt[0]), float(pt[1])]
        assert int(reg.areas[i]) == int(mask.sum())
    assert reg.boxes.dtype == torch.float32 and reg.points.dtype == torch.float32


# --------------------------------------------------------------------------- regions by hand
def test_half_resolution_nearest_is_legacy_floor_and_q_is_bilinear():
    P = torch.arange(5 * 4).reshape(5, 4)  # H0 = 5 -> 2 rows: floor(i * 5 / 2) = 0, 2 (nearest-exact: 1, 3)
    p, _ = half_resolution(P, torch.rand(1, 5, 4))
    assert p.tolist() == [[P[0, 0], P[0, 2]], [P[2, 0], P[2, 2]]]
    Q = torch.arange(16, dtype=torch.float32).reshape(1, 4, 4)
    _, q = half_resolution(torch.zeros(4, 4, dtype=torch.long), Q)
    blocks = Q[0].reshape(2, 2, 2, 2).permute(0, 2, 1, 3).mean(dim=(-1, -2))  # 2 x 2 block means
    assert torch.equal(q[0], blocks)  # bilinear, align_corners=False, no antialias


def test_gate_uncertain_and_minimal_area():
    K = 3
    p, q = design(40, 48, K, 2, [0.02, 0.03, 0.08])  # default: max prob 0.08 < 0.1 -> uncertain
    put(p, q, slice(0, 15), slice(0, 15), 0, [0.6, 0.2, 0.05])      # 15 x 15 = 225: kept
    put(p, q, slice(20, 34), slice(0, 16), 0, [0.6, 0.2, 0.05])     # 14 x 16 = 224: dropped
    put(p, q, slice(0, 20), slice(20, 40), 2, [0.01, 0.5, 0.05])   # certain, but class 2 max 0.08: gated
    put(p, q, slice(25, 40), slice(25, 45), 1, [0.1, 0.7, 0.05])    # 15 x 20 = 300: kept
    reg = extract_regions(up2(p), up2(q), coarse_thresh=0.10, minimal_area=225)
    assert reg.half_size == (40, 48)
    assert reg.classes.tolist() == [0, 1]
    assert reg.areas.tolist() == [225, 300]
    assert reg.boxes.tolist() == [[0, 0, 14, 14], [25, 25, 44, 39]]
    assert reg.half_labels[39, 0] == K and reg.half_labels[45 // 2, 46] == K  # uncertain label K
    assert reg.half_labels[5, 25] == 2  # certain pixel of a gated class keeps its label
    assert all(c != 2 for c, _, _ in reg.class_slices())  # gated class: no prompt
    reg = extract_regions(up2(p), up2(q), coarse_thresh=0.10, minimal_area=224)
    assert reg.areas.tolist() == [225, 224, 300]


def test_class_gate_is_inclusive():
    p, q = design(6, 6, 2, 1, [0.05, 0.10])  # class 1's max is exactly coarse_thresh: it is prompted
    reg = extract_regions(up2(p), up2(q), 0.10, 1)
    assert reg.classes.tolist() == [1] and reg.areas.tolist() == [36]
    assert len(extract_regions(up2(p), up2(q), 0.11, 1)) == 0


def test_uncertain_band_splits_a_class():
    p, q = design(20, 40, 2, 1, [0.1, 0.5])
    put(p, q, slice(None), 20, 1, [0.05, 0.05])  # labelled 1 but max prob < thresh
    reg = extract_regions(up2(p), up2(q), 0.10, 1)
    assert (reg.half_labels[:, 20] == 2).all()
    assert reg.boxes.tolist() == [[0, 0, 19, 19], [21, 0, 39, 19]]


def test_diagonal_neighbours_form_one_region():
    p, q = design(6, 6, 2, 1, [0.05, 0.9])
    put(p, q, 1, 1, 0, [0.9, 0.05])
    put(p, q, 2, 2, 0, [0.9, 0.05])
    reg = extract_regions(up2(p), up2(q), 0.10, 1)
    assert reg.classes.tolist() == [0, 1]  # class 1 around them is 8-connected too
    assert reg.areas.tolist() == [2, 34]
    assert reg.boxes[0].tolist() == [1, 1, 2, 2]


def test_point_is_first_row_major_maximum():
    p, q = design(8, 8, 2, 1, [0.0, 0.9])
    for r, c in [(1, 4), (1, 5)] + [(2, x) for x in range(1, 6)] + [(3, x) for x in range(1, 6)]:
        put(p, q, r, c, 0, [0.5, 0.1])  # a flat plateau: first pixel in row-major order wins
    reg = extract_regions(up2(p), up2(q), 0.10, 1)
    assert reg.classes[0] == 0 and reg.boxes[0].tolist() == [1, 1, 5, 3]
    assert reg.points[0].tolist() == [4, 1]  # (x, y), not the box corner (1, 1)
    q[0, 3, 2] = q[0, 2, 5] = 0.7  # two tied maxima: the earlier row wins
    reg = extract_regions(up2(p), up2(q), 0.10, 1)
    assert reg.points[0].tolist() == [5, 2]


def test_point_of_a_zero_probability_region_is_pixel_zero():
    # argmax of the flattened Q[c] * mask: all zeros -> index 0, even outside the region
    p, q = design(10, 10, 2, 1, [0.0, 0.9])
    put(p, q, slice(6, 9), slice(6, 9), 0, [0.0, 0.5])  # labelled 0 with Q[0] == 0
    put(p, q, 1, 1, 0, [0.5, 0.1])  # class 0 passes the gate here
    reg = extract_regions(up2(p), up2(q), 0.10, 1)
    i = reg.areas.tolist().index(9)
    assert reg.classes[i] == 0 and reg.points[i].tolist() == [0, 0]


def test_no_certain_pixels_gives_no_regions():
    P = torch.zeros(20, 20, dtype=torch.long)
    reg = extract_regions(P, torch.full((3, 20, 20), 0.05), 0.10, 1)
    assert len(reg) == 0 and reg.class_slices() == []


# --------------------------------------------------------------------------- prompts
def test_dense_mask_prompt_values_padding_and_size_from_original():
    from segment_anything.utils.transforms import ResizeLongestSide
    H0, W0 = 20, 21  # 256-long-side size from (H0, W0): (244, 256); from the half size (10, 10) it would be 256 x 256
    assert ResizeLongestSide.get_preprocess_shape(H0, W0, 256) == (244, 256)
    qc = torch.full((10, 10), 0.5)
    m = dense_mask_prompt(qc, (H0, W0), coarse_thresh=0.10, sam_mask_coff=0.005)
    assert m.shape == (1, 256, 256)  # 3-D: no batch axis
    assert torch.equal(m[0, :244], torch.full((244, 256), 0.5) * 0.005)
    assert (m[0, 244:] == 0).all()  # zero padding bottom
    at = dense_mask_prompt(torch.full((10, 10), 0.10), (H0, W0), 0.10, 0.005)
    assert (at == 0).all()  # strictly above the threshold only
    qc = torch.zeros(10, 10)
    qc[:, :5] = 0.8
    m = dense_mask_prompt(qc, (10, 30), 0.10, 0.005)  # (10, 30) -> (85, 256): padding at the bottom
    ref = F.interpolate(qc[None, None], size=(85, 256), mode="bilinear", align_corners=False)[0, 0]
    ref = torch.where(ref > 0.10, ref * 0.005, torch.zeros_like(ref))
    assert torch.equal(m[0, :85], ref) and (m[0, 85:] == 0).all()
    assert (m[0, :85, :100] > 0).all() and (m[0, :85, 160:] == 0).all()


def test_unbatched_mask_prompt_changes_the_dense_embedding(sam):
    m = dense_mask_prompt(torch.rand(32, 32), (64, 64), 0.1, 0.005) * 100
    _, dense3 = sam.prompt_encoder(points=None, boxes=None, masks=m)  # the reference's 3-D prompt
    _, dense4 = sam.prompt_encoder(points=None, boxes=None, masks=m[None])  # B x 1 x 256 x 256
    assert dense3.shape == (32, 64, 64) and dense4.shape == (1, 32, 64, 64)
    assert not torch.allclose(dense3, dense4[0], atol=1e-3)


def _spy_prompt_encoder(monkeypatch, sam):
    calls = []
    orig = sam.prompt_encoder.forward

    def spy(points, boxes, masks):
        calls.append((points, boxes, masks))
        return orig(points, boxes, masks)
    monkeypatch.setattr(sam.prompt_encoder, "forward", spy)
    return calls


def _three_class_regions():
    # half 64 x 32 -> ResizeLongestSide(1024) of the half size is (1024, 512): scale 16
    p, q = design(64, 32, 3, 1, [0.02, 0.03, 0.05])
    put(p, q, slice(2, 10), slice(3, 9), 2, [0.1, 0.1, 0.8])
    put(p, q, slice(20, 30), slice(1, 5), 0, [0.7, 0.1, 0.2])
    put(p, q, slice(40, 50), slice(20, 30), 0, [0.6, 0.1, 0.3])
    q[0, 45, 22] = 0.9
    return extract_regions(up2(p), up2(q), 0.10, 1)


def test_one_sam_call_per_class_with_half_res_transform(monkeypatch, sam):
    reg = _three_class_regions()
    assert reg.classes.tolist() == [0, 0, 2]
    assert reg.points.tolist() == [[1, 20], [22, 45], [3, 2]]
    pred = make_predictor(sam, torch.randn(1, 32, 64, 64), reg.full_size, (1024, 512))
    calls = _spy_prompt_encoder(monkeypatch, sam)
    out = refine_with_sam(pred, reg, 0.10, 0.005)
    assert len(calls) == 2  # classes 0 and 2, ascending; class 1 has no region
    (pts0, lbl0), box0, mask0 = calls[0]
    assert pts0.shape == (2, 1, 2) and pts0.tolist() == [[[16, 320]], [[352, 720]]]
    assert lbl0.tolist() == [[1], [1]]
    assert box0.tolist() == [[16, 320, 64, 464], [320, 640, 464, 784]]  # (x1, y1, x2, y2) * 16
    assert torch.equal(mask0, dense_mask_prompt(reg.q_half[0], reg.full_size, 0.10, 0.005))
    assert mask0.dim() == 3
    (pts2, _), box2, mask2 = calls[1]
    assert pts2.tolist() == [[[48, 32]]] and box2.tolist() == [[48, 32, 128, 144]]
    assert torch.equal(mask2, dense_mask_prompt(reg.q_half[2], reg.full_size, 0.10, 0.005))
    assert out.iou.shape == (3,) and out.low_res.shape == (3, 1, 256, 256)


def test_sam_call_mask_prompt_sized_from_original(monkeypatch, sam):
    P = torch.zeros(20, 21, dtype=torch.long)  # half size 10 x 10
    Q = torch.tensor([0.8, 0.2])[:, None, None].repeat(1, 20, 21)
    reg = extract_regions(P, Q, 0.10, 1)
    assert reg.full_size == (20, 21) and reg.half_size == (10, 10)
    pred = make_predictor(sam, torch.randn(1, 32, 64, 64), reg.full_size, (976, 1024))
    calls = _spy_prompt_encoder(monkeypatch, sam)
    refine_with_sam(pred, reg, 0.10, 0.005)
    mask = calls[0][2]
    assert (mask[0, :244] > 0).all() and (mask[0, 244:] == 0).all()  # (244, 256), not 256 x 256


def test_batched_mask_prompt_flag(monkeypatch, sam):
    reg = _three_class_regions()
    pred = make_predictor(sam, torch.randn(1, 32, 64, 64), reg.full_size, (1024, 512))
    ref = refine_with_sam(pred, reg, 0.10, 0.5)
    calls = _spy_prompt_encoder(monkeypatch, sam)
    fixed = refine_with_sam(pred, reg, 0.10, 0.5, batched_mask_prompt=True)
    assert calls[0][2].shape == (1, 1, 256, 256)
    assert not torch.equal(ref.iou, fixed.iou)


def test_sam_decode_matches_predict_torch(sam):
    reg = _three_class_regions()
    pred = make_predictor(sam, torch.randn(1, 32, 64, 64), reg.full_size, (1024, 512))
    tf = pred.transform
    pts = tf.apply_coords_torch(reg.points[:2, None], reg.half_size)
    lbl = torch.ones(2, 1, dtype=torch.int)
    bxs = tf.apply_boxes_torch(reg.boxes[:2], reg.half_size)
    mask = dense_mask_prompt(reg.q_half[0], reg.full_size)
    masks, iou, low = pred.predict_torch(pts, lbl, bxs, mask, multimask_output=False, return_logits=True)
    low2, iou2 = sam_decode(pred, pts, lbl, bxs, mask)
    assert torch.equal(low, low2) and torch.equal(iou, iou2)
    # upscaling a subset (the kept regions) gives the same bits as upscaling the whole batch
    assert torch.equal(sam.postprocess_masks(low2[1:], (1024, 512), reg.full_size), masks[1:])


# --------------------------------------------------------------------------- merge
def _two_class_case():
    """16 x 16 half res: class 0 on the left (Q0 .7), class 1 on the right (Q1 .8); one region each."""
    p, q = design(16, 16, 2, 0, [0.7, 0.3])
    put(p, q, slice(None), slice(8, 16), 1, [0.2, 0.8])
    P, Q = up2(p), up2(q)
    reg = extract_regions(P, Q, 0.10, 1)
    assert reg.classes.tolist() == [0, 1]
    return P, Q, reg


def test_all_regions_failing_returns_the_coarse_tensors(sam):
    P, Q, reg = _two_class_case()
    out = SamOutput(torch.tensor([0.5, 0.9]), torch.ones(2, 1, 256, 256))  # 0.9 is not > 0.9
    labels, scores = merge_refined(P, Q, reg, out, sam, (1024, 1024), 0.9)
    assert labels is P and scores is Q


def test_merge_kept_and_failed_regions(sam):
    P, Q, reg = _two_class_case()
    low = torch.full((2, 1, 256, 256), -2.0)
    low[0, 0, :128] = 2.0  # region 0 (class 0): its mask is the top half of the image
    out = SamOutput(torch.tensor([0.95, 0.5]), low)  # region 0 kept, region 1 (class 1, right half) failed
    labels, scores = merge_refined(P, Q, reg, out, sam, (1024, 1024), 0.9)
    L = sam.postprocess_masks(low[:1], (1024, 1024), (32, 32))[0, 0]
    inside = L > 0
    assert inside[:16].all() and not inside[16:].any()
    exp0 = torch.where(inside, torch.sigmoid(L) * Q[0], torch.zeros_like(L))
    left, right = slice(0, 16), slice(16, 32)
    # left half: refined scores only (not a failed area)
    assert torch.equal(scores[0, :, left], exp0[:, left])
    assert (scores[1, :, left] == 0).all()
    assert (labels[:16, left] == 0).all()
    assert (labels[16:, left] == P[16:, left]).all()  # all refined scores 0 -> P
    # right half = the failed region: scores become max(refined, Q) ...
    before = torch.stack([exp0, torch.zeros_like(exp0)])  # refined scores before the fallback
    assert torch.equal(scores[:, :, right], torch.maximum(before, Q)[:, :, right])
    # ... but labels are not recomputed: the top right stays class 0 although the returned
    # scores favour class 1 there (the reference's "label = P if coarse max > refined max" never fires)
    assert (labels[:16, right] == 0).all() and (scores[:, :16, right].argmax(0) == 1).all()
    assert (labels[16:, right] == 1).all()
    assert labels.dtype == torch.int64 and scores.dtype == torch.float32


def test_merge_max_over_kept_regions_of_a_class(sam):
    p, q = design(16, 16, 2, 0, [0.6, 0.4])
    put(p, q, 8, slice(None), 0, [0.05, 0.05])  # uncertain row splits class 0 into two regions
    P, Q = up2(p), up2(q)
    reg = extract_regions(P, Q, 0.10, 1)
    assert reg.classes.tolist() == [0, 0]
    low = torch.full((2, 1, 256, 256), -1.0)
    low[0, 0, :, :128] = 1.0
    low[1, 0, :, 64:192] = 3.0
    out = SamOutput(torch.tensor([0.95, 0.99]), low)
    labels, scores = merge_refined(P, Q, reg, out, sam, (1024, 1024), 0.9)
    L = sam.postprocess_masks(low, (1024, 1024), (32, 32))[:, 0]
    exp = torch.maximum(torch.sigmoid(L[0]) * Q[0], torch.sigmoid(L[1]) * Q[0])
    exp = torch.where((L > 0).any(0), exp, torch.zeros_like(exp))
    assert torch.equal(scores[0], exp) and (scores[1] == 0).all()
    assert (exp[:, -4:] == 0).all() and (exp[:, :4] > 0).all()


# --------------------------------------------------------------------------- embedding
@pytest.mark.parametrize("hw,expected", [((333, 500), (672, 1024)), ((1000, 301), (1024, 304)),
                                         ((500, 500), (1024, 1024)), ((481, 321), (1024, 672)),
                                         ((17, 1100), (16, 1024))])
def test_sam_input_size(hw, expected):
    assert sam_input_size(*hw) == expected


@pytest.fixture(scope="module")
def tiny_encoder():
    from radseg import RADSegEncoder
    return RADSegEncoder.from_pretrained("tiny-random", need_sam=True, slide_crop=224, slide_stride=112,
                                         text_disk_cache=False)


def test_sam_image_embedding(tiny_encoder, sam):
    img = torch.randn(1, 3, 160, 240, generator=torch.Generator().manual_seed(0))
    seen, neck_in = [], []
    orig = tiny_encoder.backbone_features
    h = sam.image_encoder.neck.register_forward_pre_hook(lambda m, a: neck_in.append(a[0]))
    try:
        tiny_encoder.backbone_features = lambda x: (seen.append(x), orig(x))[1]
        emb, size = sam_image_embedding(tiny_encoder, img, sam)
    finally:
        del tiny_encoder.backbone_features
        h.remove()
    assert size == (672, 1024) and seen[0].shape == (1, 3, 672, 1024)
    assert torch.equal(seen[0], F.interpolate(img, size=(672, 1024), mode="bilinear", align_corners=False))
    assert emb.shape == (1, 32, 64, 64)
    x = neck_in[0]
    assert x.shape == (1, 32, 64, 64)
    # ALGORITHM.md 7: the reference's neck gets plain contiguous NCHW memory, not the
    # channels-last layout the reshape/permute view carries (the convs round differently).
    assert x.is_contiguous() and not x.is_contiguous(memory_format=torch.channels_last)
    assert (x[:, :, 42:] == 0).all()  # zero padding at the bottom (672 / 16 = 42 rows)
    tokens = orig(seen[0]).flatten(2).transpose(1, 2)
    mapped = tiny_encoder.sam_adaptor.feat_mlp(tokens).reshape(1, 42, 64, 32).permute(0, 3, 1, 2)
    assert torch.equal(x[:, :, :42], mapped)


def test_antialiased_same_size_resize_is_a_no_op_on_cpu():
    x = torch.randn(1, 64 * 42, 32).reshape(1, 64, 42, 32).permute(0, 3, 1, 2)
    y = F.interpolate(x, size=(64, 42), mode="bilinear", antialias=True, align_corners=False)
    assert torch.equal(x, y)


def test_refiner_skips_backbone_without_regions(sam):
    class NoBackbone:
        sam_adaptor = object()
        patch_size = 16

        def backbone_features(self, x):
            raise AssertionError("backbone must not run without regions")
    P = torch.zeros(20, 20, dtype=torch.long)
    Q = torch.full((3, 20, 20), 0.05)
    labels, probs = SAMRefiner(sam)(NoBackbone(), torch.zeros(1, 3, 20, 20), P, Q)
    assert labels is P and probs is Q


# --------------------------------------------------------------------------- end to end
def _encoder(thresh):
    from radseg import RADSegEncoder
    from radseg.models import SourceRequest, get_sam_source
    enc = RADSegEncoder.from_pretrained(
        "tiny-random", need_sam=True, slide_crop=224, slide_stride=112, text_disk_cache=False,
        sam_refiner=SAMRefiner(get_sam_source("tiny-random-sam")(SourceRequest()), sam_iou_thresh=thresh,
                               minimal_area=300))
    enc.set_classes(["sky", "grass", "dog", "cat"])
    return enc


def _coarse(enc, img):
    refiner, enc.sam_refiner = enc.sam_refiner, None
    try:
        return enc.predict(img)
    finally:
        enc.sam_refiner = refiner


def test_end_to_end_reference_threshold_deterministic():
    img = torch.randn(1, 3, 160, 240, generator=torch.Generator().manual_seed(1))
    enc = _encoder(0.9)
    a, b = enc.predict(img), enc.predict(img)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.probs, b.probs)
    assert a.labels.shape == (160, 240) and a.probs.shape == (4, 160, 240)
    coarse = _coarse(enc, img)
    assert len(extract_regions(coarse.labels, coarse.probs, 0.10, 300)) > 0  # so SAM did run
    # the random tiny SAM keeps no region at 0.9: the coarse result, unchanged
    assert torch.equal(a.labels, coarse.labels) and torch.equal(a.probs, coarse.probs)


def test_end_to_end_with_kept_regions_deterministic():
    img = torch.randn(1, 3, 160, 240, generator=torch.Generator().manual_seed(1))
    a = _encoder(-1.0).predict(img)  # every region kept: the merge path runs
    enc = _encoder(-1.0)  # a fresh build
    b = enc.predict(img)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.probs, b.probs)
    coarse = _coarse(enc, img)
    assert not torch.equal(a.labels, coarse.labels)
    assert (a.probs == 0).any() and a.probs.dtype == torch.float32 and a.labels.dtype == torch.int64


# --------------------------------------------------------------------------- merge call shape
def test_merge_upscales_all_kept_regions_in_one_call_in_region_order(sam, monkeypatch):
    """ALGORITHM.md 7 "Merge": one postprocess_masks (and sigmoid) call over every kept
    region stacked in region order, not one call per class."""
    p, q = design(16, 16, 2, 0, [0.6, 0.4])
    put(p, q, 8, slice(None), 0, [0.05, 0.05])
    put(p, q, slice(9, None), slice(None), 1, [0.3, 0.7])
    P, Q = up2(p), up2(q)
    reg = extract_regions(P, Q, 0.10, 1)
    assert reg.classes.tolist() == [0, 1]
    low = torch.randn(2, 1, 256, 256, generator=torch.Generator().manual_seed(3))
    calls = []
    orig = sam.postprocess_masks
    monkeypatch.setattr(sam, "postprocess_masks", lambda m, *a: (calls.append(m.clone()), orig(m, *a))[1])
    sigmoid_calls = []
    orig_sig = torch.sigmoid
    monkeypatch.setattr(torch, "sigmoid", lambda x: (sigmoid_calls.append(x.shape), orig_sig(x))[1])
    merge_refined(P, Q, reg, SamOutput(torch.tensor([0.95, 0.97]), low), sam, (1024, 1024), 0.9)
    assert len(calls) == 1 and torch.equal(calls[0], low)  # both classes, region order
    assert sigmoid_calls == [torch.Size([2, 32, 32])]


def test_max_of_sigmoid_times_q_equals_max_of_products_bitwise():
    """merge_refined takes max(sigmoid) * Q[c]; the spec says max(sigmoid * Q[c])."""
    g = torch.Generator().manual_seed(0)
    sig = torch.sigmoid(torch.randn(5, 300, 300, generator=g) * 4)
    q = torch.rand(300, 300, generator=g)
    assert torch.equal(sig.amax(0) * q, (sig * q).amax(0))
