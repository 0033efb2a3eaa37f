"""Tiny MESS entries on disk, in the layout MESS's preparation scripts write (radseg.data.mess).

``make_mess_entry(key, data_dir, names)`` writes an image and an 8-bit label PNG (class
indices, 255 = ignore) per name under ``data_dir/<root>/<img_dir|label_dir>``, with the
entry's file endings; ``extra_images`` adds images without a label (CWFID's ``images/`` holds
the training images too). Tiled entries get MESS's tile names (``<id>_<i>``) and a label
border of 255 (the prepare scripts pad edge tiles with 255).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from radseg.data.mess import get_entry

_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG"}


def _format(ext: str) -> str:
    return _FORMATS[ext.rsplit(".", 1)[-1].lower()]


def mess_names(key: str, n: int) -> list:
    """``n`` file names as the entry's prepare script writes them."""
    e = get_entry(key)
    if key == "cwfid":
        return [f"{i:03d}_" for i in (1, 3, 4, 9, 10, 13)[:n]]
    dot = "." if e.img_ext[0] not in "._" else ""  # MESS registers 'jpg': the file is <name>.jpg
    if e.tiled:  # <image id>_<tile index>
        return [f"P{i // 2:04d}_{i % 2}{dot}" for i in range(n)]
    return [f"img_{i:04d}{dot}" for i in range(n)]


def make_mess_entry(key: str, data_dir, names: Sequence[str], extra_images: Sequence[str] = (),
                    size=(40, 56), seed: int = 0) -> Path:
    """Write the entry's files; returns the entry's root folder."""
    e = get_entry(key)
    rng = np.random.default_rng(seed)
    root = Path(data_dir) / e.root
    img_dir, lbl_dir = root / e.img_dir, root / e.label_dir
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    h, w = size
    for i, name in enumerate(list(names) + list(extra_images)):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(img).save(img_dir / f"{name}{e.img_ext}", format=_format(e.img_ext))
        if i >= len(names):
            continue
        lab = np.zeros((h, w), np.uint8)
        for y in range(0, h, h // 2):
            for x in range(0, w, w // 3):
                lab[y:y + h // 2, x:x + w // 3] = rng.integers(0, e.num_classes)
        if e.tiled:
            lab[:, -5:] = 255  # an edge tile's padding
        Image.fromarray(lab, mode="L").save(lbl_dir / f"{name}{e.label_ext}", format=_format(e.label_ext))
    return root
