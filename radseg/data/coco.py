"""COCO-Stuff 164k ``_labelTrainIds.png`` and COCO-Object ``_instanceTrainIds.png``.

Both come from the raw stuff-thing maps (``stuffthingmaps_trainval2017.zip``;
value = COCO-Stuff label id - 1: 0..90 things, 91..181 stuff, 255 unlabeled),
remapped with a 256-entry lookup table (DATASETS.md sections 3 and 4):

* COCO-Stuff (mmseg ``coco_stuff164k.py``): trainId = position of the raw
  value among the 171 used raw values, 255 stays 255; raw values outside that
  table (the 11 unused thing ids, 182..254) are left unchanged as mmseg does,
  and reported as a warning (they do not occur in the official maps).
* COCO-Object (GroupViT ``convert_coco_object.py``): a used thing -> its
  COCO-Stuff trainId + 1 (1..80); everything else (stuff, unlabeled 255,
  unused ids) -> 0 background. Values 0..80, no 255.

Raw layout (mmseg convention): ``RAW/images/{val2017,train2017}/<id>.jpg`` and
``RAW/annotations/{val2017,train2017}/<id>.png``. Input PNGs whose name
contains ``TrainIds`` are skipped. COCO-Stuff labels are written beside the
raw maps when RAW is the data folder's ``coco_stuff164k``, else into
``DATA/coco_stuff164k/annotations/<split>`` with ``images/<split>`` linked;
COCO-Object always gets its own root ``DATA/coco_object`` with
``images/<split>`` symlinked to the COCO images. An image without a raw map gets no label and
is left out of the linked images (a warning names it; in place it is an error), so the
prepared folder passes its verifier.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from .benchmarks import candidate_roots
from .common import (
    PrepareResult,
    clean_temp_files,
    find_folder,
    image_size,
    label_is_valid,
    link_labelled_images,
    read_label_png,
    run_tasks,
    same_path,
    save_label,
    worker_error,
)

#: Raw thing values (COCO category id - 1) that have no masks in COCO.
UNUSED_THING_VALUES = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)
NUM_RAW = 182  # raw values 0..181 (+ 255 unlabeled)

SUFFIX = {"coco_stuff164k": "_labelTrainIds.png", "coco_object": "_instanceTrainIds.png"}


def used_raw_values() -> List[int]:
    return [v for v in range(NUM_RAW) if v not in UNUSED_THING_VALUES]


def stuff_lut() -> np.ndarray:
    """raw value -> COCO-Stuff trainId (0..170, 255); values outside the table unchanged."""
    lut = np.arange(256, dtype=np.uint8)
    unused = np.array(UNUSED_THING_VALUES)
    for v in used_raw_values():
        lut[v] = v - int((unused < v).sum())
    lut[255] = 255
    return lut


def object_lut() -> np.ndarray:
    """raw value -> COCO-Object id: used things 1..80, everything else 0."""
    lut = np.zeros(256, dtype=np.uint8)
    s = stuff_lut()
    for v in used_raw_values():
        if v <= 90:
            lut[v] = s[v] + 1
    return lut


def known_raw_values() -> np.ndarray:
    ok = np.zeros(256, dtype=bool)
    ok[used_raw_values()] = True
    ok[255] = True
    return ok


def _convert_one(task) -> Optional[Tuple[str, List[int]]]:
    key, src, out = task
    raw = read_label_png(src)
    lut = stuff_lut() if key == "coco_stuff164k" else object_lut()
    try:
        save_label(lut[raw], out)
    except Exception as e:  # noqa: BLE001 - reported as a one-line user error
        raise worker_error(src, e) from None
    counts = np.bincount(raw.ravel(), minlength=256)
    odd = np.flatnonzero((counts > 0) & ~known_raw_values())
    return (Path(src).name, [int(v) for v in odd]) if odd.size else None


def _find_coco(raw: Path, splits) -> Path:
    req = [f"{d}/{s}" for s in splits for d in ("images", "annotations")]
    d = find_folder(raw, ["", "coco_stuff164k", "COCOStuff"], req)
    if d is None:
        raise DatasetError(
            f"expected {raw}/images/<split>/*.jpg and {raw}/annotations/<split>/*.png for "
            f"{', '.join(splits)}: unzip val2017.zip into {raw}/images and "
            f"stuffthingmaps_trainval2017.zip into {raw}/annotations (see docs/DATA.md).")
    return d


def prepare_coco(key: str, raw: Path, data_dir: Path, train: bool = False,
                 workers: int = 1) -> PrepareResult:
    splits = ["val2017"] + (["train2017"] if train else [])
    src = _find_coco(raw, splits)
    roots = list(candidate_roots(key, data_dir))
    dest = next((r for r in roots if r.exists() and same_path(r, src)), roots[0])
    res = PrepareResult(key=key, root=dest)
    suffix = SUFFIX[key]
    tasks = []
    for split in splits:
        maps = src / "annotations" / split
        link_labelled_images(res, dest / "images" / split, src / "images" / split, ".jpg",
                             lambda n, maps=maps: (maps / f"{n}.png").is_file())
        out_dir = dest / "annotations" / split
        out_dir.mkdir(parents=True, exist_ok=True)
        clean_temp_files(out_dir)
        res.label_dirs.append(out_dir)
        inputs = sorted(p for p in (src / "annotations" / split).glob("*.png")
                        if "TrainIds" not in p.name and not p.name.startswith("."))
        if not inputs:
            raise DatasetError(f"no raw stuff-thing maps (*.png) in {src / 'annotations' / split}: "
                               f"unzip stuffthingmaps_trainval2017.zip into {src / 'annotations'}.")
        for p in inputs:
            out = out_dir / (p.name.split(".")[0] + suffix)
            if label_is_valid(out, image_size(p)):
                res.skipped += 1
            else:
                tasks.append((key, str(p), str(out)))
    odd = [r for r in run_tasks(_convert_one, tasks, workers=workers, desc=key) if r]
    if odd:
        from .verify import format_names

        fate = "left unchanged (as mmseg)" if key == "coco_stuff164k" else "set to 0"
        res.warnings.append(
            f"{len(odd)} raw maps hold values that are not COCO-Stuff label ids ({fate}): "
            + format_names(sorted(f"{n} ({', '.join(map(str, v))})" for n, v in odd)))
    res.converted = len(tasks)
    return res
