#!/usr/bin/env python
"""Cost per image of Boundary IoU (radseg/metrics/boundary_iou.py) against the reference loop.

    PYTHONPATH=. python benchmarks/boundary_iou_speed.py            # all cases, 5 images each
    PYTHONPATH=. python benchmarks/boundary_iou_speed.py --images 10 --json out.json

Label maps of the benchmarks' sizes and class counts, generated (no dataset needed):
"regions" = a ground truth of blocky regions with about the number of classes a real image
holds, and a prediction that is the ground truth shifted by a few pixels with other regions
mixed in (what a segmenter's output looks like); "scattered" = a worst case where every class
is spread over the whole image (a random stand-in model's output). Each image is timed with
the toolkit's function and with the reference's plain loop (two erosions of the full image per
class present), and the two are checked to give the same counts; mmseg's own per-image IoU
step (``IoUMetric.intersect_and_union``) is timed beside them for scale. Prints CPU
milliseconds per image (``time.process_time``, one thread, median over the images: less
sensitive to other jobs than wall time) and the speed-up; not a test (the reference loop is
slow).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from radseg.metrics.boundary_iou import boundary_intersect_union  # noqa: E402

# (name, height, width, classes, classes present per image, ignore value or None)
CASES = [
    ("coco_stuff164k 640x480", 480, 640, 171, 12, 255),
    ("ade20k 512x683", 512, 683, 150, 15, None),
    ("context59 500x375", 375, 500, 59, 8, 255),
    ("cityscapes 1024x2048", 1024, 2048, 19, 16, 255),
]


def ref_mask_to_boundary(mask, dilation_ratio=0.02):
    """bowenc0221/boundary-iou-api boundary_utils.mask_to_boundary."""
    h, w = mask.shape
    dilation = max(int(round(dilation_ratio * np.sqrt(h ** 2 + w ** 2))), 1)
    new_mask = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(new_mask, np.ones((3, 3), np.uint8), iterations=dilation)[1:h + 1, 1:w + 1]
    return mask - eroded


def ref_loop(pred, label, num_classes, ignore):
    """CorrCLIPv2 BoundaryIoUMetric._boundary_intersect_and_union, as a plain loop."""
    pred = pred.astype(np.int64).copy()
    label = label.astype(np.int64)
    pred[label == ignore] = ignore
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for c in set(np.unique(label).tolist()) | set(np.unique(pred).tolist()):
        if c == ignore or c < 0 or c >= num_classes:
            continue
        g = ref_mask_to_boundary((label == c).astype(np.uint8))
        p = ref_mask_to_boundary((pred == c).astype(np.uint8))
        inter[c] = ((g * p) > 0).sum()
        union[c] = ((g + p) > 0).sum()
    return inter, union


def make_maps(rng, h, w, nc, present, ignore, kind):
    classes = rng.choice(nc, size=present, replace=False)
    if kind == "scattered":
        label = rng.integers(0, nc, size=(h, w))
        pred = rng.integers(0, nc, size=(h, w))
        return pred, label
    cells = 6
    coarse = rng.choice(classes, size=(cells, max(1, cells * w // h)))
    label = cv2.resize(coarse.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST).astype(np.int64)
    if ignore is not None:  # a thin ignore band between regions, as VOC / Context have
        edges = cv2.Canny(label.astype(np.uint8), 0, 0) > 0
        label[edges] = ignore
    other = rng.choice(np.concatenate([classes, rng.choice(nc, size=4)]), size=(cells + 1, cells + 2))
    other = cv2.resize(other.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST).astype(np.int64)
    pred = np.where(rng.random((h, w)) < 0.98, np.roll(label, (h // 50, w // 40), axis=(0, 1)), other)
    pred[pred >= nc] = classes[0]
    return pred, label


def time_it(fn, *a, repeat=1):
    best = []
    for _ in range(repeat):
        t = time.process_time()
        out = fn(*a)
        best.append(time.process_time() - t)
    return min(best), out


def mmseg_iou():
    """mmseg's per-image IoU step on torch tensors (None when mmseg is not installed)."""
    try:
        import torch
        from mmseg.evaluation.metrics import IoUMetric
    except ImportError:
        return None
    torch.set_num_threads(1)

    def run(pred, label, nc, ignore):
        return IoUMetric.intersect_and_union(torch.from_numpy(pred), torch.from_numpy(label), nc, ignore)
    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5, help="images per case (default 5)")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    ap.add_argument("--no-reference", action="store_true", help="time only the toolkit's function")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
          f"load average {', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}; numpy {np.__version__}, "
          f"OpenCV {cv2.__version__} (1 thread)")
    rows = []
    iou = mmseg_iou()
    print("| case | maps | classes scored/img | toolkit ms/img | reference loop ms/img | speed-up | "
          "mmseg IoU ms/img |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, h, w, nc, present, ignore in CASES:
        ign = 255 if ignore is None else ignore
        for kind in ("regions", "scattered"):
            fast, ref, scored, ious = [], [], [], []
            for _ in range(args.images):
                pred, label = make_maps(rng, h, w, nc, present, ignore, kind)
                t_fast, (fi, fu) = time_it(boundary_intersect_union, pred, label, nc, ign)
                fast.append(t_fast)
                if iou is not None:
                    ious.append(time_it(iou, pred, label, nc, ign)[0])
                scored.append(int((fu > 0).sum()))
                if not args.no_reference:
                    t_ref, (ri, ru) = time_it(ref_loop, pred, label, nc, ign)
                    ref.append(t_ref)
                    if not (np.array_equal(fi, ri) and np.array_equal(fu, ru)):
                        print(f"MISMATCH in {name} {kind}", file=sys.stderr)
                        return 1
            f_ms = 1000 * statistics.median(fast)
            r_ms = 1000 * statistics.median(ref) if ref else None
            i_ms = 1000 * statistics.median(ious) if ious else None
            rows.append(dict(case=name, maps=kind, classes_scored=statistics.median(scored), toolkit_ms=f_ms,
                             reference_ms=r_ms, mmseg_iou_ms=i_ms, images=args.images))
            print(f"| {name} | {kind} | {statistics.median(scored):g} | {f_ms:.1f} | "
                  f"{'' if r_ms is None else f'{r_ms:.1f}'} | {'' if r_ms is None else f'{r_ms / f_ms:.1f}x'} | "
                  f"{'' if i_ms is None else f'{i_ms:.1f}'} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(load=load, rows=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
