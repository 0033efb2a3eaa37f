"""Cityscapes ``<frame>_gtFine_labelTrainIds.png`` (19 classes + 255).

Two equivalent routes (DATASETS.md section 5):

* ``scripts``: ``cityscapesscripts`` ``json2labelImg(polygons.json, out, 'trainIds')``
  (what mmseg's ``cityscapes.py`` runs), used by ``auto`` when the package is installed;
* ``labelids``: remap the official ``_gtFine_labelIds.png`` pixelwise with the
  id -> trainId table below (no extra dependency).

Raw layout: ``RAW/gtFine/<split>/<city>/`` and ``RAW/leftImg8bit/<split>/<city>/``.
Labels are written beside the polygons when RAW is the data folder's
``cityscapes``, else into ``DATA/cityscapes/gtFine/<split>/<city>/`` with
``leftImg8bit/<split>`` symlinked; an image without a gtFine frame gets no label and is left
out of the links (a warning names it), so the prepared folder passes its verifier.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict

import numpy as np

from ..errors import DatasetError
from .benchmarks import candidate_roots
from .common import (
    TMP_MARK,
    PrepareResult,
    clean_temp_files,
    find_folder,
    image_size,
    label_is_valid,
    link_labelled_images,
    run_tasks,
    same_path,
    save_label,
    worker_error,
)

#: Cityscapes label id -> trainId for the 19 evaluated classes; every other id -> 255.
ID_TO_TRAINID: Dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
    24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}
POLY_SUFFIX = "_gtFine_polygons.json"
IDS_SUFFIX = "_gtFine_labelIds.png"
OUT_SUFFIX = "_gtFine_labelTrainIds.png"
IMG_SUFFIX = "_leftImg8bit.png"


def trainid_lut() -> np.ndarray:
    lut = np.full(256, 255, dtype=np.uint8)
    for i, t in ID_TO_TRAINID.items():
        lut[i] = t
    return lut


def have_cityscapesscripts() -> bool:
    try:
        from cityscapesscripts.preparation.json2labelImg import json2labelImg  # noqa: F401
    except Exception:  # noqa: BLE001 - not installed or broken: use the numpy route
        return False
    return True


def labelids_to_trainids(src) -> np.ndarray:
    from .common import read_label_png

    return trainid_lut()[read_label_png(src)]


def _convert_one(task) -> None:
    try:
        _convert(*task)
    except Exception as e:  # noqa: BLE001 - reported as a one-line user error
        raise worker_error(task[1], e) from None


def _convert(method, src, out) -> None:
    if method == "labelids":
        save_label(labelids_to_trainids(src), out)
        return
    from cityscapesscripts.preparation.json2labelImg import json2labelImg

    out = Path(out)
    tmp = out.with_name(f".{out.stem}{TMP_MARK}{os.getpid()}.png")
    try:
        json2labelImg(src, str(tmp), "trainIds")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def _frames(gt_split: Path):
    """Frame paths relative to ``gt_split`` (``<city>/<frame>``), sorted."""
    frames = set()
    for dirpath, _, files in os.walk(gt_split, followlinks=True):
        rel = os.path.relpath(dirpath, gt_split)
        for f in files:
            for suf in (POLY_SUFFIX, IDS_SUFFIX):
                if f.endswith(suf) and not f.startswith("."):
                    frames.add(os.path.normpath(os.path.join(rel, f[: -len(suf)])))
    return sorted(frames)


def prepare_cityscapes(key: str, raw: Path, data_dir: Path, train: bool = False, workers: int = 1,
                       method: str = "auto") -> PrepareResult:
    if method not in ("auto", "scripts", "labelids"):
        raise DatasetError(f"unknown Cityscapes method '{method}': use auto, scripts or labelids.")
    if method == "auto":
        method = "scripts" if have_cityscapesscripts() else "labelids"
    elif method == "scripts" and not have_cityscapesscripts():
        raise DatasetError("cityscapesscripts is not installed: `pip install cityscapesscripts`, "
                           "or use --cityscapes-method labelids.")
    splits = ["val"] + (["train"] if train else [])
    src = find_folder(raw, ["", "cityscapes", "CityScapes"], [f"gtFine/{s}" for s in splits])
    if src is None:
        raise DatasetError(
            f"no gtFine/{'/, gtFine/'.join(splits)}/ in {raw}: unzip gtFine_trainvaltest.zip and "
            f"leftImg8bit_trainvaltest.zip into one folder and pass it as --raw.")
    roots = list(candidate_roots(key, data_dir))
    dest = next((r for r in roots if r.exists() and same_path(r, src)), roots[0])
    res = PrepareResult(key=key, root=dest)
    tasks, no_source = [], []
    for split in splits:
        gt = src / "gtFine" / split
        out_root = dest / "gtFine" / split
        res.label_dirs.append(out_root)
        frames = _frames(gt)
        if not frames:
            raise DatasetError(f"no *{POLY_SUFFIX} or *{IDS_SUFFIX} under {gt}: unzip "
                               f"gtFine_trainvaltest.zip into {src}.")
        img = src / "leftImg8bit" / split
        if img.is_dir():  # an image without a gtFine frame gets no label: left out of the links
            framed = set(frames)
            link_labelled_images(res, dest / "leftImg8bit" / split, img, IMG_SUFFIX,
                                 lambda n, framed=framed: n in framed)
        elif not same_path(dest, src):
            res.warnings.append(f"{img} not found: unzip leftImg8bit_trainvaltest.zip into {src}")
        made_dirs = set()
        for fr in frames:
            poly, ids = gt / (fr + POLY_SUFFIX), gt / (fr + IDS_SUFFIX)
            out = out_root / (fr + OUT_SUFFIX)
            if out.parent not in made_dirs:
                out.parent.mkdir(parents=True, exist_ok=True)
                clean_temp_files(out.parent)
                made_dirs.add(out.parent)
            if ids.is_file():
                size = image_size(ids)
            else:
                with open(poly) as f:
                    meta = json.load(f)
                size = (meta["imgWidth"], meta["imgHeight"])
            if label_is_valid(out, size):
                res.skipped += 1
            elif method == "scripts" and poly.is_file():
                tasks.append(("scripts", str(poly), str(out)))
            elif ids.is_file():
                tasks.append(("labelids", str(ids), str(out)))
            else:
                no_source.append(fr)
    if no_source:
        from .verify import format_names

        raise DatasetError(
            f"{len(no_source)} frames have polygons but no {IDS_SUFFIX} ({format_names(no_source)}): "
            f"`pip install cityscapesscripts` to rasterise the polygons, or unzip "
            f"gtFine_trainvaltest.zip again.")
    run_tasks(_convert_one, tasks, workers=workers, desc=key)
    res.converted = len(tasks)
    if tasks:
        res.notes.append("labels from " + ("cityscapesscripts json2labelImg (trainIds)"
                                           if method == "scripts" else f"{IDS_SUFFIX} remapped"))
    return res
