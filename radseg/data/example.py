"""``radseg data example DIR``: a small labelled dataset in the layout eval.py --dataset-dir reads.

Writes ``DIR/images/*.jpg`` (synthetic scenes: sky above, grass or road below, a few
rectangles of the other classes), ``DIR/labels/*.png`` (single-channel, values 0..K-1 in
``classes.txt`` order, 255 on a thin band at region borders = ignored) and
``DIR/classes.txt``. Seeded: the same files every time. Nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from ..errors import DatasetError

CLASSES = ("sky", "grass, lawn", "road", "building, house")
COLOURS = ((135, 180, 235), (70, 150, 60), (110, 110, 115), (170, 120, 90))


def write_example(out, n: int = 6, size=(96, 128), seed: int = 0) -> List[Path]:
    """Write the example dataset into ``out`` (created; an existing non-empty images/ or labels/
    there is an error, nothing is overwritten). Returns the image paths."""
    from PIL import Image
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"'{out}' is a file; give a folder for the example dataset.")
    for sub in ("images", "labels"):
        if (root / sub).is_dir() and any((root / sub).iterdir()):
            raise DatasetError(f"'{root / sub}' already holds files; give an empty or new folder.")
    if (root / "classes.txt").exists():
        raise DatasetError(f"'{root / 'classes.txt'}' exists; give an empty or new folder.")
    rng = np.random.default_rng(seed)
    h, w = size
    paths = []
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        lab = np.zeros((h, w), np.uint8)
        horizon = int(rng.integers(h // 3, h // 2))
        lab[horizon:] = 1 if i % 2 == 0 else 2
        for _ in range(2):  # a building and a patch of the other ground class
            y0, x0 = int(rng.integers(horizon // 2, horizon)), int(rng.integers(0, w - w // 4))
            lab[y0:horizon + h // 8, x0:x0 + w // 5] = 3
            y1, x1 = int(rng.integers(horizon + 4, h - 8)), int(rng.integers(0, w - w // 3))
            lab[y1:y1 + h // 8, x1:x1 + w // 3] = 2 if i % 2 == 0 else 1
        img = np.array(COLOURS, np.int16)[lab] + rng.integers(-18, 18, (h, w, 3))
        img = np.clip(img, 0, 255).astype(np.uint8)
        border = np.zeros_like(lab, bool)  # 1-pixel band where classes meet: ignored (255)
        border[1:] |= lab[1:] != lab[:-1]
        border[:, 1:] |= lab[:, 1:] != lab[:, :-1]
        lab[border] = 255
        name = f"scene_{i:03d}"
        Image.fromarray(img).save(root / "images" / f"{name}.jpg", quality=92)
        Image.fromarray(lab, mode="L").save(root / "labels" / f"{name}.png")
        paths.append(root / "images" / f"{name}.jpg")
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    return paths
