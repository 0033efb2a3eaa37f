"""Tiny benchmark datasets on disk, in the real mmseg folder layouts (DATASETS.md section 8).

Used by the end-to-end tests: ``make_dataset(key, data_dir, n)`` writes ``n``
validation images with label files (and a split file where the dataset has
one) under ``data_dir/<default folder>``, and returns that folder. Every layout
fact (folders, suffixes, split file, label values, 8-bit PNG / palette / 16-bit
TIFF, file names) comes from the dataset registry (:func:`radseg.dataset_registry.get_dataset`),
so a newly registered dataset gets its tiny copy too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from radseg.dataset_registry import get_dataset


def _names(key: str, n: int):
    """``n`` file names in the dataset's own naming (the table's ``name_pattern``)."""
    f = get_dataset(key)
    return [f.name_pattern.format(f.name_start + i) for i in range(n)]


def make_image_and_label(rng: np.random.Generator, h: int, w: int, values, dtype=np.uint8):
    """A blocky RGB image and a label map (``dtype``) whose blocks share the image's colours."""
    img = np.zeros((h, w, 3), np.uint8)
    lab = np.zeros((h, w), dtype)
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
    f = get_dataset(key)
    root = Path(data_dir) / f.root
    rng = np.random.default_rng(seed)
    names = _names(key, n)
    values = list(f.label_values())
    dtype = np.uint16 if f.label_dtype == "uint16" else np.uint8
    for i, name in enumerate(names):
        h, w = size if i % 2 == 0 else (size[0] + 7, size[1] - 5)  # odd sizes too
        img, lab = make_image_and_label(rng, h, w, values, dtype)
        ip = root / f.img_dir / f"{name}{f.img_suffix}"
        lp = root / f.label_dir / f"{name}{f.label_suffix}"
        ip.parent.mkdir(parents=True, exist_ok=True)
        lp.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(ip)
        lab_img = Image.fromarray(lab)  # 'L' (uint16: 'I;16'), single channel, the values themselves
        if f.label_palette:  # VOC labels are palette PNGs: indices are the values
            lab_img.putpalette([c for i in range(256) for c in (i, (i * 7) % 256, (i * 13) % 256)])
        lab_img.save(lp)
    if f.split_file:
        sp = root / f.split_file
        sp.parent.mkdir(parents=True, exist_ok=True)
        sp.write_text("\n".join(names) + "\n")
    return root
