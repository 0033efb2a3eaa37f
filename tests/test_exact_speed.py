"""Exact mode's speed changes are bit-identical on the CPU, each against its previous version.

Oracles: ``stitch_windows_loop`` (the per-window loop), ``tests/sam_refine_previous.py`` (the
committed region extraction, per-class SAM calls and merge), SAM's own prompt encoder, and
per-image ``predict`` for the batched ``predict_batch``.
"""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from radseg.core.encoder import RADSegEncoder, auto_window_cap
from radseg.core.sam_refine import (
    SAMRefiner,
    extract_regions,
    make_predictor,
    merge_refined,
    positive_points_only,
    refine_with_sam,
)
from radseg.core.sliding_windows import stitch_windows, stitch_windows_loop, window_grid
from radseg.models import build_radio
from radseg.models.sam import build_tiny_sam

sys.path.insert(0, str(Path(__file__).parent))
import sam_refine_previous as previous  # noqa: E402


def _bits(t):
    return t.contiguous().view(torch.int32) if t.dtype == torch.float32 else t


@pytest.mark.parametrize("h,w,crop,stride", [(336, 560, 224, 112), (448, 448, 336, 224), (336, 672, 336, 112),
                                             (560, 784, 336, 224), (352, 352, 336, 224), (224, 224, 224, 112),
                                             (672, 1344, 336, 224), (336, 448, 336, 112)])
def test_loop_free_stitching_is_bit_identical_to_the_loop(h, w, crop, stride):
    boxes = window_grid(h, w, crop, stride)
    g = torch.Generator().manual_seed(h * w)
    feats = torch.randn(len(boxes), 24, crop // 16, crop // 16, generator=g) * 10 ** torch.randn(1, generator=g)
    ref = stitch_windows_loop(feats, boxes, h, w, 16)
    out = stitch_windows(feats, boxes, h, w, 16, method="gather")
    assert out.shape == ref.shape and out.is_contiguous()
    assert torch.equal(_bits(out), _bits(ref))  # same bits, not just equal values
    assert torch.equal(stitch_windows(feats, boxes, h, w, 16), ref)  # "auto" (the loop on CPU)


def test_stitching_sums_three_windows_in_window_order():
    # 3 windows over the same cells: the sum must be ((0 + f0) + f1) + f2 in window order
    boxes = [(0, 16, 0, 48), (0, 16, 0, 48), (0, 16, 0, 48)]
    feats = torch.tensor([1.0, 1e8, -1e8]).view(3, 1, 1, 1).expand(3, 1, 1, 3).contiguous()
    ref = stitch_windows_loop(feats, boxes, 16, 48, 16)  # (1 + 1e8) - 1e8 = 0 != 1 = 1 + (1e8 - 1e8)
    assert ref[0, 0, 0, 0] == 0.0
    assert torch.equal(stitch_windows(feats, boxes, 16, 48, 16, method="gather"), ref)


@pytest.fixture(scope="module")
def bundle():
    return build_radio("tiny-random", "siglip2", need_sam=True)


def _images(n, size, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [F.interpolate(torch.randn(1, 3, 5, 7, generator=g) * 1.5, size=size, mode="bilinear")
            for _ in range(n)]


@pytest.mark.parametrize("refine", [False, True])
def test_batched_windows_across_images_equal_per_image_predict(bundle, refine):
    ref = SAMRefiner(build_tiny_sam(0), coarse_thresh=0.1, minimal_area=4, sam_iou_thresh=-1.0) if refine else None
    enc = RADSegEncoder(bundle, slide_crop=224, slide_stride=112, text_disk_cache=False, sam_refiner=ref)
    enc.set_classes(["sky", "grass", "cat"])
    imgs = _images(2, (240, 352)) + _images(1, (224, 300), seed=5)  # two sizes: two groups
    shapes = [(250, 360)] * 2 + [(230, 310)]
    batched = enc.predict_batch(imgs, shapes)
    for im, sh, out in zip(imgs, shapes, batched):
        single = enc.predict(im, sh)
        assert torch.equal(_bits(single.probs), _bits(out.probs)) and torch.equal(single.labels, out.labels)


def test_window_cap_and_timer_hook_change_no_bit(bundle):
    from radseg.bench.timing import StageTimer
    enc = RADSegEncoder(bundle, slide_crop=224, slide_stride=112, text_disk_cache=False)
    enc.set_classes(["a", "b", "c"])
    img = _images(1, (240, 460))[0]
    ref = enc.predict(img)
    enc.timer = StageTimer("cpu")
    timed = enc.predict(img)
    assert set(enc.timer.lap()) == {"windows_backbone", "scga", "project_cosine", "upsample"}
    enc.timer, enc.max_windows_per_batch = None, "auto"
    assert auto_window_cap(enc, img, 224) is None  # CPU: all windows at once
    capped = enc.predict(img)
    assert torch.equal(ref.probs, timed.probs) and torch.equal(ref.probs, capped.probs)


def _random_maps(seed, K=4, h=96, w=120):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(K, 6, 8, generator=g) ** 3
    q = F.interpolate(low[None], size=(h, w), mode="bilinear")[0]
    q = q / q.sum(0, keepdim=True)
    q = q * (q.amax(dim=(1, 2), keepdim=True) >= 0.3)  # some classes denoised away
    q = q.permute(1, 2, 0).contiguous().permute(2, 0, 1)  # channels-last view, like the encoder's
    return q.argmax(0), q


@pytest.mark.parametrize("seed", range(3))
def test_sync_free_regions_sam_calls_and_merge_equal_the_previous_code(seed):
    P, Q = _random_maps(seed)
    new = extract_regions(P.clone(), Q, 0.2, 9)
    old = previous.extract_regions(P.clone(), Q, 0.2, 9)
    for f in ("half_labels", "q_half", "components", "ids", "classes", "areas", "boxes", "points"):
        assert torch.equal(getattr(new, f), getattr(old, f)), f
    assert new.class_slices() == old.class_slices()
    if not len(new):
        return
    sam = build_tiny_sam(0)
    g = torch.Generator().manual_seed(seed)
    pred = make_predictor(sam, torch.randn(1, 32, 64, 64, generator=g), P.shape, (1024, 800))
    out_new = refine_with_sam(pred, new, 0.2, 0.005)
    out_old = previous.refine_with_sam(pred, old, 0.2, 0.005)
    assert torch.equal(_bits(out_new.iou), _bits(out_old.iou))
    assert torch.equal(_bits(out_new.low_res), _bits(out_old.low_res))
    for thresh in (-1.0, float(out_new.iou.median()), 2.0):  # all kept, some failed, none kept
        a = merge_refined(P, Q, new, out_new, sam, (1024, 800), thresh)
        b = previous.merge_refined(P, Q, old, out_old, sam, (1024, 800), thresh)
        assert torch.equal(a[0], b[0]) and torch.equal(_bits(a[1]), _bits(b[1]))


def test_positive_points_only_matches_sams_point_embedding():
    sam = build_tiny_sam(0)
    pe = sam.prompt_encoder
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(5, 1, 2, generator=g) * 1000
    boxes = torch.rand(5, 4, generator=g) * 1000
    lbl = torch.ones(5, 1, dtype=torch.int)
    mask = torch.rand(1, 256, 256, generator=g)
    ref = pe(points=(pts, lbl), boxes=boxes, masks=mask)
    with positive_points_only(pe):
        out = pe(points=(pts, lbl), boxes=boxes, masks=mask)
    assert "_embed_points" not in pe.__dict__  # restored
    assert torch.equal(_bits(out[0]), _bits(ref[0])) and torch.equal(_bits(out[1]), _bits(ref[1]))


@pytest.mark.parametrize("b,n,c,heads,scaling", [(1, 197, 64, 4, 10.0), (3, 50, 96, 12, 10.0),
                                                 (2, 120, 48, 2, 7.3)])
def test_in_place_scra_is_bit_identical_to_the_previous_forward(b, n, c, heads, scaling):
    """SCRA's scaling and mask now run in place (no fresh N x N tensors): the same bits as before."""
    from timm.models.vision_transformer import Attention

    from radseg.core.scra import SCRAttention
    from scra_previous import scra_forward_previous
    torch.manual_seed(n)
    scra = SCRAttention(Attention(c, heads, qkv_bias=True).eval(), scaling).eval()
    x = torch.randn(b, n, c) * 3
    with torch.no_grad():
        out, ref = scra(x), scra_forward_previous(scra, x)
    assert torch.isfinite(ref).all() and torch.equal(_bits(out), _bits(ref))
