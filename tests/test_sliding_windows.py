import torch
import torch.nn.functional as F

from radseg.core.sliding_windows import (
    resize_to_stride,
    sliding_window_features,
    stitch_windows,
    stride_resize_shape,
    window_grid,
)


def test_multiples_of_stride_are_kept():
    assert stride_resize_shape(336, 448, 224, 112) == (336, 448)
    img = torch.randn(1, 3, 336, 448)
    assert resize_to_stride(img, 224, 112) is img


def test_stride_rounding_by_hand():
    # L=333 -> L'=336, scale 336/333: 250 -> int(252.25)=252 -> up to 336; 333 -> 336
    assert stride_resize_shape(250, 333, 224, 112) == (336, 336)
    # rounding unit is the stride (112), not the patch (16): 300x500 -> L'=560, s=1.12
    assert stride_resize_shape(300, 500, 224, 112) == (336, 560)
    # raised to at least crop: 100x150 with stride 224 -> (224, 224) -> (336, 336)
    assert stride_resize_shape(100, 150, 336, 224) == (336, 336)
    # one side already a multiple, the other not: both are scaled
    assert stride_resize_shape(224, 300, 224, 112) == (336, 336)


def test_truncation_not_rounding():
    # 337 x 500: L'=560, scale 1.12 -> 337*1.12 = 377.44 -> int 377 -> 448
    assert stride_resize_shape(337, 500, 224, 112) == (448, 560)
    # 199 x 300, stride 112: L'=336, s=1.12 -> 222.88 -> 222 (truncated) -> 224
    assert stride_resize_shape(199, 300, 224, 112) == (224, 336)


def test_resize_is_bilinear_align_corners_false():
    img = torch.randn(1, 3, 250, 333)
    out = resize_to_stride(img, 224, 112)
    ref = F.interpolate(img, size=(336, 336), mode="bilinear", align_corners=False)
    assert torch.equal(out, ref)
    assert not torch.equal(out, F.interpolate(img, size=(336, 336), mode="bilinear", align_corners=True))


def test_window_grid_by_hand():
    # h=336, w=560, crop 224, stride 112: rows 2, cols 4
    boxes = window_grid(336, 560, 224, 112)
    assert len(boxes) == 8
    assert boxes[:4] == [(0, 224, 0, 224), (0, 224, 112, 336), (0, 224, 224, 448), (0, 224, 336, 560)]
    assert boxes[4] == (112, 336, 0, 224)


def test_window_shifted_back_to_keep_full_crop():
    # h=w=448, crop 336, stride 224: rows=(448-336+223)//224+1 = 2; 2nd starts at 224 -> shifted to 112
    boxes = window_grid(448, 448, 336, 224)
    assert boxes == [(0, 336, 0, 336), (0, 336, 112, 448), (112, 448, 0, 336), (112, 448, 112, 448)]
    for y1, y2, x1, x2 in boxes:
        assert y2 - y1 == 336 and x2 - x1 == 336
        assert y1 % 16 == 0 and x1 % 16 == 0


def test_window_grid_odd_sizes():
    # 560 x 784 (mid-res Context), crop 336 stride 224: rows=(560-336+223)//224+1=2+... check formula
    h, w, crop, stride = 560, 784, 336, 224
    rows = max(h - crop + stride - 1, 0) // stride + 1
    cols = max(w - crop + stride - 1, 0) // stride + 1
    boxes = window_grid(h, w, crop, stride)
    assert (rows, cols) == (2, 3) and len(boxes) == 6
    assert boxes[-1] == (224, 560, 448, 784)
    # image smaller than the crop: one window from 0
    assert window_grid(200, 200, 336, 224) == [(0, 200, 0, 200)]


def test_stitch_averages_overlaps():
    boxes = [(0, 32, 0, 32), (0, 32, 16, 48)]  # patch 16 -> two 2x2 windows overlapping one column
    feats = torch.stack([torch.full((1, 2, 2), 1.0), torch.full((1, 2, 2), 3.0)])
    out = stitch_windows(feats, boxes, 32, 48, 16)
    assert out.shape == (1, 1, 2, 3)
    assert torch.equal(out[0, 0], torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))


def _pool_backbone(calls):
    def backbone(x):
        calls.append(x.shape[0])
        return F.avg_pool2d(x, 16)
    return backbone


def test_one_batched_backbone_call_and_consistent_stitch():
    img = torch.randn(1, 3, 336, 448)
    calls = []
    out = sliding_window_features(_pool_backbone(calls), img, 224, 112, 16)
    assert calls == [len(window_grid(336, 448, 224, 112))]  # all windows in one call
    # a position-independent backbone gives the pooled image back after averaging
    assert torch.allclose(out, F.avg_pool2d(img, 16), atol=1e-6)
    calls2 = []
    out2 = sliding_window_features(_pool_backbone(calls2), img, 224, 112, 16, max_batch=4)
    assert calls2 == [4, 2] and torch.equal(out, out2)  # 6 windows, at most 4 per call


def test_crop_zero_is_one_pass():
    img = torch.randn(1, 3, 64, 96)
    calls = []
    out = sliding_window_features(_pool_backbone(calls), img, 0, 0, 16)
    assert calls == [1] and out.shape == (1, 3, 4, 6)


def test_window_cap_is_bit_identical_to_one_call_on_the_stand_in():
    """The memory cap (max_windows_per_batch) changes the backbone's call shape; on CPU the
    stand-in RADIO gives the same bits either way (the reference makes one call)."""
    from radseg.core.encoder import RADSegEncoder
    enc = RADSegEncoder.from_pretrained("tiny-random", slide_crop=64, slide_stride=32, text_disk_cache=False)
    img = torch.randn(1, 3, 96, 160, generator=torch.Generator().manual_seed(1))
    full = enc.feature_map(img)
    for cap in (1, 3):
        enc.max_windows_per_batch = cap
        assert torch.equal(enc.feature_map(img), full)
