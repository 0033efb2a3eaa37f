"""Boundary IoU (radseg/metrics/boundary_iou.py) against the reference, bit for bit.

The reference functions below are transcriptions of bowenc0221/boundary-iou-api
``boundary_utils.mask_to_boundary`` and CorrCLIPv2 ``BoundaryIoUMetric`` (docs/EXTRA_BENCHMARKS.md
section 4): a plain loop over full-size masks, the way the literature runs it.
"""
import math

import cv2
import numpy as np
import pytest

from radseg.metrics.boundary_iou import (
    boundary_intersect_union,
    boundary_iou_per_class,
    boundary_iou_summary,
    boundary_width,
    mask_to_boundary,
)

# -- the reference (transcribed, not imported) ------------------------------------------------------

def ref_mask_to_boundary(mask, dilation_ratio=0.02):
    h, w = mask.shape
    img_diag = np.sqrt(h ** 2 + w ** 2)
    dilation = int(round(dilation_ratio * img_diag))
    if dilation < 1:
        dilation = 1
    new_mask = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    kernel = np.ones((3, 3), dtype=np.uint8)
    new_mask_erode = cv2.erode(new_mask, kernel, iterations=dilation)
    mask_erode = new_mask_erode[1: h + 1, 1: w + 1]
    return mask - mask_erode


def ref_boundary_intersect_and_union(pred, label, num_classes, ignore_index, ratio=0.02):
    pred = np.asarray(pred).astype(np.int64).copy()
    label = np.asarray(label).astype(np.int64)
    pred[label == ignore_index] = ignore_index
    inter = np.zeros(num_classes, dtype=np.float64)
    union = np.zeros(num_classes, dtype=np.float64)
    present = set(np.unique(label).tolist()) | set(np.unique(pred).tolist())
    present.discard(ignore_index)
    for c in present:
        if c < 0 or c >= num_classes:
            continue
        gt_b = ref_mask_to_boundary((label == c).astype(np.uint8), ratio)
        pred_b = ref_mask_to_boundary((pred == c).astype(np.uint8), ratio)
        inter[c] = ((gt_b * pred_b) > 0).sum()
        union[c] = ((gt_b + pred_b) > 0).sum()
    return inter, union


def chebyshev_boundary(mask, d):
    """Independent of cv2: mask pixels with a background pixel, or the outside of the image,
    within Chebyshev distance d (the zero ring is at distance 1 outside the image)."""
    h, w = mask.shape
    ring = np.pad(mask, 1, constant_values=0)
    big = np.pad(ring, d, constant_values=1)  # beyond the ring: cv2's erosion border (foreground)
    win = np.lib.stride_tricks.sliding_window_view(big, (2 * d + 1, 2 * d + 1))
    eroded = win.min(axis=(2, 3))[1:h + 1, 1:w + 1]
    return mask - eroded


def blob_map(rng, h, w, num_classes, cells=8, noise=0.02, values=None):
    """Blocky regions (a coarse random grid upscaled) plus a little pixel noise."""
    values = np.arange(num_classes) if values is None else np.asarray(values)
    coarse = rng.choice(values, size=(cells, max(1, cells * w // h)))
    m = cv2.resize(coarse.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST).astype(np.int64)
    flip = rng.random((h, w)) < noise
    m[flip] = rng.choice(values, size=int(flip.sum()))
    return m


# -- the boundary width ------------------------------------------------------------------------------

@pytest.mark.parametrize("h,w,d", [(500, 375, 12), (375, 500, 12), (512, 512, 14), (512, 683, 17),
                                   (1024, 2048, 46), (35, 120, 2), (117, 44, 2), (135, 180, 4),
                                   (15, 20, 1), (4, 4, 1), (1, 1, 1), (480, 640, 16)])
def test_boundary_width(h, w, d):
    assert boundary_width(h, w) == d
    assert boundary_width(h, w) == max(1, int(round(0.02 * np.sqrt(h ** 2 + w ** 2))))


def test_boundary_width_rounds_half_to_even():
    # diagonals 625, 125, 225: 0.02 x diagonal = 12.5, 2.5, 4.5 -> 12, 2, 4 (half to even);
    # floor(x + 0.5) (C++ std::round) would give 13, 3, 5
    for h, w, d in ((500, 375, 12), (35, 120, 2), (135, 180, 4)):
        assert math.hypot(h, w) in (625.0, 125.0, 225.0)
        assert boundary_width(h, w) == d
        assert math.floor(0.02 * math.hypot(h, w) + 0.5) == d + 1


# -- mask_to_boundary ---------------------------------------------------------------------------------

SIZES = [(375, 500), (500, 375), (1, 1), (1, 9), (7, 1), (2, 3), (35, 120), (117, 44), (61, 33), (64, 64)]


@pytest.mark.parametrize("h,w", SIZES)
def test_mask_to_boundary_matches_reference(h, w):
    rng = np.random.default_rng(h * 1000 + w)
    for density in (0.0, 0.3, 0.97, 1.0):
        mask = (rng.random((h, w)) < density).astype(np.uint8)
        blobs = (blob_map(rng, h, w, 2, cells=5, noise=0.01) == 1).astype(np.uint8)
        for m in (mask, blobs):
            got = mask_to_boundary(m)
            assert got.dtype == np.uint8 and got.shape == (h, w)
            np.testing.assert_array_equal(got, ref_mask_to_boundary(m))
            if h * w <= 5000:  # the definition, without cv2
                np.testing.assert_array_equal(got, chebyshev_boundary(m, boundary_width(h, w)))


def test_mask_to_boundary_width_12_on_500x375():
    # a full mask: the band is the 12 rows / columns along the image border (the zero ring
    # is 1 outside row 0, so row r is r + 1 away); d = 13 would make it 13
    b = mask_to_boundary(np.ones((375, 500), np.uint8))
    assert b[11, 200] == 1 and b[12, 200] == 0 and b[200, 488] == 1 and b[200, 487] == 0
    assert int(b.sum()) == 375 * 500 - (375 - 24) * (500 - 24)


# -- the per-image accumulation -----------------------------------------------------------------------

CASES = [  # (h, w, num classes, ignore index, label values beyond the classes)
    (375, 500, 21, 255, [255]),
    (96, 130, 171, 255, [255]),
    (41, 67, 5, 255, [255, 65535]),  # 65535 in the labels with ignore 255: background, not ignored
    (64, 48, 7, 65535, [65535]),
    (1, 30, 3, 255, [255]),
    (9, 2, 4, 255, []),
    (20, 30, 70000, 255, [255]),  # more classes than uint16 holds: the float32 maps
]


@pytest.mark.parametrize("h,w,nc,ign,extra", CASES)
def test_boundary_intersect_union_matches_reference_loop(h, w, nc, ign, extra):
    rng = np.random.default_rng(h + 7 * w + nc)
    values = list(range(nc)) + extra
    for noise in (0.0, 0.05, 1.0):
        label = blob_map(rng, h, w, nc, cells=6, noise=noise, values=values)
        # pred: the labels shifted by a few pixels, mixed with other regions (classes only)
        pred = np.where(rng.random((h, w)) < 0.7, np.roll(label, (2, 3), axis=(0, 1)),
                        blob_map(rng, h, w, nc, cells=7, noise=noise))
        pred[pred >= nc] = 0
        got_i, got_u = boundary_intersect_union(pred, label, nc, ign)
        ref_i, ref_u = ref_boundary_intersect_and_union(pred, label, nc, ign)
        assert got_i.dtype == np.int64 and got_u.dtype == np.int64
        np.testing.assert_array_equal(got_i, ref_i)
        np.testing.assert_array_equal(got_u, ref_u)


def test_boundary_intersect_union_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="one shape"):
        boundary_intersect_union(np.zeros((4, 5)), np.zeros((5, 4)), 3)


# -- the dataset accumulation, checked by hand --------------------------------------------------------

def test_hand_checked_dataset():
    """Two 6 x 6 images, 3 classes, d = max(1, round(0.02 * sqrt(72))) = max(1, round(0.17)) = 1:
    a band pixel is a mask pixel on the image border or next to (8-neighbour) a non-mask pixel.

    Image 1: gt class 0 in columns 0-2, class 1 in columns 3-5; pred class 0 in columns 0-3,
    class 1 in columns 4-5.
      gt 0 (18 px): band = all but the interior rows 1-4 x column 1 (4 px) = 14 px
      pred 0 (24 px): band = all but rows 1-4 x columns 1-2 (8 px) = 16 px
      both = rows 0 and 5 x columns 0-2 (6) + column 0 x rows 1-4 (4) = 10; union 14 + 16 - 10 = 20
      gt 1 (18 px): band 14 px (interior: rows 1-4 x column 4); pred 1 (columns 4-5): all 12 px
      both = rows 0 and 5 x columns 4-5 (4) + column 5 x rows 1-4 (4) = 8; union 14 + 12 - 8 = 18
    Image 2: gt class 0 in rows 0-2, rows 3-5 = 255 (ignore); pred all class 1, which becomes
    255 in rows 3-5 (pred[gt == ignore] = ignore), so pred class 1 = rows 0-2.
      gt 0: band 18 - 4 (row 1 x columns 1-4) = 14 px, no pred 0: inter 0, union 14
      pred 1: band 14 px, no gt 1: inter 0, union 14
      (without the ignore step pred 1 would be the whole image: band 36 - 16 = 20 px)
    Totals: class 0: 10 / (20 + 14) = 10/34 = 0.294117...; class 1: 8 / (18 + 14) = 8/32 = 0.25;
    class 2: never present, union 0 -> NaN.
    mBoundaryIoU = round(nanmean(0.294117, 0.25) * 100, 2) = round(27.2058..., 2) = 27.21.
    """
    gt1 = np.zeros((6, 6), np.int64)
    gt1[:, 3:] = 1
    pr1 = np.zeros((6, 6), np.int64)
    pr1[:, 4:] = 1
    gt2 = np.zeros((6, 6), np.int64)
    gt2[3:] = 255
    pr2 = np.ones((6, 6), np.int64)
    s1 = boundary_intersect_union(pr1, gt1, 3, 255)
    s2 = boundary_intersect_union(pr2, gt2, 3, 255)
    assert s1[0].tolist() == [10, 8, 0] and s1[1].tolist() == [20, 18, 0]
    assert s2[0].tolist() == [0, 0, 0] and s2[1].tolist() == [14, 14, 0]
    out = boundary_iou_summary([s1, s2], ["a", "b", "c"])
    assert out["BoundaryIoU.a"] == 29.41 and out["BoundaryIoU.b"] == 25.0
    assert math.isnan(out["BoundaryIoU.c"])
    assert out["mBoundaryIoU"] == 27.21
    # mmseg's nan_to_num: the missing class counts as that value in the mean
    out0 = boundary_iou_summary([s1, s2], ["a", "b", "c"], nan_to_num=0)
    assert out0["BoundaryIoU.c"] == 0.0 and out0["mBoundaryIoU"] == round((10 / 34 + 0.25) / 3 * 100, 2)


def test_per_class_nan_where_no_boundary_and_all_nan_mean():
    biou = boundary_iou_per_class(np.array([0, 3]), np.array([0, 4]))
    assert math.isnan(biou[0]) and biou[1] == 0.75
    assert math.isnan(boundary_iou_summary([], ["a", "b"])["mBoundaryIoU"])
