"""Issue 24 section 1: images and labels with a side of 1 pixel (1 x 1, 1 x N, N x 1) evaluate
correctly through eval.py (in-process main(argv)), with --boundary-iou off and on, and through
the SAM refinement path (whose half-resolution frame is empty for such an image).

"Correctly": the record's metrics equal the ones recomputed from the saved prediction PNGs and
the label files with an independent confusion count (and, for Boundary IoU, the literature's
loop of tests/test_boundary_iou.py), and the predictions have the images' own sizes.
"""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from radseg.cli import run_eval_main
from test_boundary_iou import ref_boundary_intersect_and_union

SIZES = {"one": (1, 1), "row": (1, 9), "col": (7, 1), "thin": (2, 41), "plain": (20, 24)}
CLASSES = ["sky", "grass", "road"]


def _write_dataset(root):
    rng = np.random.default_rng(5)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name, (h, w) in SIZES.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "images" / f"{name}.png")
        lab = rng.integers(0, 3, (h, w)).astype(np.uint8)
        if h * w > 4:
            lab.flat[0] = 255  # an ignored pixel too
        Image.fromarray(lab).save(root / "labels" / f"{name}.png")
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")


def _run(root, tmp, tag, extra):
    work, pred = tmp / f"w_{tag}", tmp / f"pred_{tag}"
    rc = run_eval_main(["--dataset-dir", str(root), "--classes", str(root / "classes.txt"),
                        "--model_version", "tiny-random", "--scale", "64", "48", "--slide-crop", "32",
                        "--slide-stride", "16", "--work-dir", str(work), "--num-workers", "0",
                        "--save-predictions", str(pred)] + extra)
    assert rc == 0
    return json.loads((work / "result.json").read_text()), pred


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onepx")
    root = tmp / "thin"
    _write_dataset(root)
    return {"off": _run(root, tmp, "off", []),
            "on": _run(root, tmp, "on", ["--boundary-iou"]),
            "sam": _run(root, tmp, "sam", ["--boundary-iou", "--sam_refine", "True", "--sam_ckpt", "tiny-random-sam",
                                           "--cfg-options", "model.minimal_area=1"])}


def _pairs(pred_dir):
    manifest = json.loads((pred_dir / "predictions.json").read_text())
    out = {}
    for it in manifest["items"]:
        pred = np.array(Image.open(pred_dir / it["pred"])).astype(np.int64)
        label = np.array(Image.open(it["seg_map_path"])).astype(np.int64)
        out[it["pred"][:-4]] = (pred, label)
    return out


def _ref_iou(pairs, k=3, ignore=255):
    inter, union = np.zeros(k), np.zeros(k)
    for pred, label in pairs:
        ok = label != ignore
        for c in range(k):
            p, g = (pred == c) & ok, (label == c) & ok
            inter[c] += (p & g).sum()
            union[c] += (p | g).sum()
    return inter, union


@pytest.mark.parametrize("mode", ["off", "on", "sam"])
def test_one_pixel_sides_evaluate_as_recomputed(runs, mode):
    rec, pred_dir = runs[mode]
    assert rec["status"] == "complete" and rec["num_images"] == len(SIZES)
    pairs = _pairs(pred_dir)
    assert {n: p.shape for n, (p, _) in pairs.items()} == SIZES  # predictions at the images' own sizes
    inter, union = _ref_iou(pairs.values())
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)
    assert rec["metrics"]["mIoU"] == pytest.approx(np.round(np.nanmean(iou) * 100, 2), abs=1e-9)
    for c, name in enumerate(CLASSES):
        got = rec["per_class"][name]["IoU"]
        assert (got is None and np.isnan(iou[c])) or got == pytest.approx(np.round(iou[c] * 100, 2), abs=1e-9)
    if mode == "off":
        assert "mBoundaryIoU" not in rec["metrics"]
        return
    bi, bu = np.zeros(3), np.zeros(3)
    for pred, label in pairs.values():
        i, u = ref_boundary_intersect_and_union(pred, label, 3, 255)
        bi += i
        bu += u
    biou = np.where(bu > 0, bi / np.where(bu > 0, bu, 1), np.nan)
    assert rec["metrics"]["mBoundaryIoU"] == np.round(np.nanmean(biou) * 100, 2)


def test_refinement_leaves_an_empty_half_resolution_frame_alone(runs):
    """SAM never sees a 1-pixel-side image (its half-res frame is empty: no region), so those
    predictions are the unrefined ones; the 2 x 41 image has a 1 x 20 half-res frame."""
    plain, refined = _pairs(runs["on"][1]), _pairs(runs["sam"][1])
    for name in ("one", "row", "col"):
        assert np.array_equal(plain[name][0], refined[name][0])


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (2, 9)])
def test_extract_regions_on_thin_maps(shape):
    from radseg.core.sam_refine import extract_regions
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(3, *shape, generator=g).softmax(0)
    labels = probs.argmax(0)
    r = extract_regions(labels, probs, coarse_thresh=0.1, minimal_area=1)
    assert r.half_size == (shape[0] // 2, shape[1] // 2)
    assert (len(r) == 0) == (shape[0] < 2 or shape[1] < 2)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (5, 8)])
def test_label_loader_keeps_a_one_pixel_side(tmp_path, dtype, shape):
    import radseg.mmseg  # noqa: F401  (registers the transforms)
    # isort: split
    from mmseg.datasets.transforms import LoadAnnotations
    from mmseg.registry import TRANSFORMS
    big = dtype == "uint16"
    lab = np.random.default_rng(1).integers(0, 700 if big else 200, shape).astype(np.uint16 if big else np.uint8)
    path = tmp_path / "l.png"
    Image.fromarray(lab).save(path)
    res = lambda: dict(seg_map_path=str(path), reduce_zero_label=False, seg_fields=[])  # noqa: E731
    out = TRANSFORMS.build(dict(type="RADSegLoadAnnotations", label_dtype=dtype)).transform(res())["gt_seg_map"]
    assert out.shape == shape and out.dtype == lab.dtype and np.array_equal(out, lab)
    if min(shape) > 1 and not big:  # elsewhere the same array as mmseg's own loader
        ref = LoadAnnotations().transform(res())["gt_seg_map"]
        assert ref.dtype == out.dtype and np.array_equal(ref, out)
