"""Tiny benchmark datasets on disk, in the real mmseg folder layouts (DATASETS.md section 8).

Used by the end-to-end tests: ``make_dataset(key, data_dir, n)`` writes ``n``
validation images with label PNGs (and a split file where the dataset has
one) under ``data_dir/<default folder>``, and returns that folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# key -> (folder, img dir, img suffix, label dir, label suffix, split file, label values, palette PNG)
LAYOUTS = {
    "voc20": ("VOC2012", "JPEGImages", ".jpg", "SegmentationClass", ".png",
              "ImageSets/Segmentation/val.txt", list(range(21)) + [255], True),
    "voc21": ("VOC2012", "JPEGImages", ".jpg", "SegmentationClass", ".png",
              "ImageSets/Segmentation/val.txt", list(range(21)) + [255], True),
    "context59": ("VOCdevkit/VOC2010", "JPEGImages", ".jpg", "SegmentationClassContext", ".png",
                  "ImageSets/SegmentationContext/val.txt", list(range(60)), False),
    "context60": ("VOCdevkit/VOC2010", "JPEGImages", ".jpg", "SegmentationClassContext", ".png",
                  "ImageSets/SegmentationContext/val.txt", list(range(60)), False),
    "coco_stuff164k": ("coco_stuff164k", "images/val2017", ".jpg", "annotations/val2017",
                       "_labelTrainIds.png", None, list(range(171)) + [255], False),
    "coco_object": ("coco_object", "images/val2017", ".jpg", "annotations/val2017",
                    "_instanceTrainIds.png", None, list(range(81)), False),
    "cityscapes": ("cityscapes", "leftImg8bit/val", "_leftImg8bit.png", "gtFine/val",
                   "_gtFine_labelTrainIds.png", None, list(range(19)) + [255], False),
    "ade20k": ("ADEChallengeData2016", "images/validation", ".jpg", "annotations/validation", ".png",
               None, list(range(151)), False),
}


def _names(key: str, n: int):
    if key.startswith("voc") or key.startswith("context"):
        return [f"2008_{i:06d}" for i in range(n)]
    if key.startswith("coco"):
        return [f"{i + 139:012d}" for i in range(n)]
    if key == "cityscapes":
        return [f"frankfurt/frankfurt_000000_{i:06d}" for i in range(n)]
    return [f"ADE_val_{i + 1:08d}" for i in range(n)]


def make_image_and_label(rng: np.random.Generator, h: int, w: int, values):
    """A blocky RGB image and a label map whose blocks share the image's colours."""
    img = np.zeros((h, w, 3), np.uint8)
    lab = np.zeros((h, w), np.uint8)
    bh, bw = max(h // 3, 1), max(w // 3, 1)
    for y in range(0, h, bh):
        for x in range(0, w, bw):
            v = int(rng.choice(values))
            lab[y:y + bh, x:x + bw] = v
            img[y:y + bh, x:x + bw] = rng.integers(0, 256, 3)
    img = np.clip(img.astype(np.int16) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
    return img, lab


def make_dataset(key: str, data_dir, n: int = 3, size=(40, 56), seed: int = 0) -> Path:
    """Write a tiny validation split of benchmark ``key`` under ``data_dir``; returns its root."""
    folder, img_dir, img_suf, lab_dir, lab_suf, split, values, use_palette = LAYOUTS[key]
    root = Path(data_dir) / folder
    rng = np.random.default_rng(seed)
    names = _names(key, n)
    for i, name in enumerate(names):
        h, w = size if i % 2 == 0 else (size[0] + 7, size[1] - 5)  # odd sizes too
        img, lab = make_image_and_label(rng, h, w, values)
        ip = root / img_dir / f"{name}{img_suf}"
        lp = root / lab_dir / f"{name}{lab_suf}"
        ip.parent.mkdir(parents=True, exist_ok=True)
        lp.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(ip)
        lab_img = Image.fromarray(lab)  # 'L', single channel, the values themselves
        if use_palette:  # VOC labels are palette PNGs: indices are the values
            lab_img.putpalette([c for i in range(256) for c in (i, (i * 7) % 256, (i * 13) % 256)])
        lab_img.save(lp)
    if split:
        sp = root / split
        sp.parent.mkdir(parents=True, exist_ok=True)
        sp.write_text("\n".join(names) + "\n")
    return root
