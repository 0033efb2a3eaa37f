"""PASCAL Context 59/60 labels from ``trainval_merged.json`` (PASCAL in Detail), no Detail API.

Reproduces mmseg's ``pascal_context.py`` converter (Detail ``getMask`` + id
mapping, DATASETS.md section 2): for each image of the phase, a zero canvas of
the image's (height, width); its ``annos_segmentation`` entries in JSON order
(crowd included) are decoded with ``pycocotools.mask.decode`` and each writes
its class index into its nonzero pixels, later annotations overwriting earlier
ones. Class index = position of the Detail category id in ``CONTEXT_IDS``
(0 = background = unannotated). Output: ``VOC2010/SegmentationClassContext/<name>.png``
(values 0..59) and ``VOC2010/ImageSets/SegmentationContext/{val,train}.txt``
(sorted basenames; an image of the JSON missing from ``JPEGImages`` is left out of them, with a
warning naming it, so the prepared folder passes its verifier). Images stay in the raw
``VOC2010/JPEGImages`` (linked).

Memory: the 590 MB JSON is parsed once with an ``object_hook`` that throws away
part masks and boundary masks as they are parsed and slims each segmentation
annotation to ``(image_id, category_id, segmentation)``; the rest of the file
is dropped right after, and annotations are grouped by image once.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np

from ..errors import DatasetError
from .common import (
    PrepareResult,
    clean_temp_files,
    expand,
    find_folder,
    label_is_valid,
    run_tasks,
    save_label,
    voc2010_destination,
    worker_error,
    write_text_if_changed,
)

#: Detail (PASCAL-Context 459-label) category id of each Context60 class index 0..59.
#: Index 0 is background (id 0); Context59 index = this index - 1.
CONTEXT_IDS = (
    0, 2, 9, 18, 19, 22, 23, 25, 31, 33,           # background aeroplane bag bed bedclothes bench bicycle bird boat
                                                   # book
    34, 44, 45, 46, 59, 65, 68, 72, 80, 85,        # bottle building bus cabinet car cat ceiling chair cloth computer
    98, 104, 105, 113, 115, 144, 158, 159, 162, 187,  # cow cup curtain dog door fence floor flower food grass
    189, 207, 220, 232, 258, 259, 260, 284, 295, 296,  # ground horse keyboard light motorbike mountain mouse person
                                                       # plate platform
    308, 324, 326, 347, 349, 354, 355, 360, 366, 368,  # pottedplant road rock sheep shelves sidewalk sign sky snow sofa
    397, 415, 416, 420, 424, 427, 440, 445, 454, 458,  # table track train tree truck tvmonitor wall water window wood
)
ID_TO_INDEX: Dict[int, int] = {cid: i for i, cid in enumerate(CONTEXT_IDS)}

LABEL_DIR = "SegmentationClassContext"
SPLIT_DIR = "ImageSets/SegmentationContext"
JSON_NAME = "trainval_merged.json"


def _slim_hook(d: dict):
    """json object_hook: drop what the conversion never reads, as soon as it is parsed."""
    if "boundary_mask" in d:  # annos_boundary entries
        return None
    if "part_id" in d and "segmentation" in d:  # part masks inside an annotation
        return None
    if "segmentation" in d and "category_id" in d and "image_id" in d:
        return (d["image_id"], d["category_id"], d["segmentation"])
    return d


def load_detail_json(path: Path):
    """(images, segmentation annotations) of a PASCAL-in-Detail JSON, slimmed."""
    try:
        with open(path, "rb") as f:
            data = json.load(f, object_hook=_slim_hook)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path} cannot be read as JSON ({type(e).__name__}: {e}); download "
                           f"trainval_merged.json again (see docs/DATA.md).") from None
    if not isinstance(data, dict) or "images" not in data or "annos_segmentation" not in data:
        raise DatasetError(f"{path} has no 'images'/'annos_segmentation': it is not the PASCAL in "
                           f"Detail trainval_merged.json (see docs/DATA.md).")
    images, annos = data["images"], data["annos_segmentation"]
    data.clear()
    del data
    return images, annos


def decode_segmentation(seg, h: int, w: int) -> np.ndarray:
    """(h, w) uint8 mask of a COCO-style segmentation (compressed RLE as in the Detail JSON)."""
    from pycocotools import mask as mask_utils

    if isinstance(seg, dict):
        rle = seg
        if isinstance(seg.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(seg, h, w)
        return mask_utils.decode(rle)
    if isinstance(seg, list):  # polygons
        return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, h, w)))
    raise ValueError(f"unsupported segmentation of type {type(seg).__name__}")


def paint_mask(h: int, w: int, anns) -> np.ndarray:
    """Context60 label of one image: ``anns`` = [(class index, segmentation)] in JSON order."""
    canvas = np.zeros((h, w), dtype=np.uint8)
    for idx, seg in anns:
        canvas[decode_segmentation(seg, h, w) > 0] = idx
    return canvas


def _convert_one(task) -> None:
    out, h, w, anns = task
    try:
        save_label(paint_mask(h, w, anns), out)
    except Exception as e:  # noqa: BLE001 - reported as a one-line user error
        raise worker_error(f"the masks of {Path(out).stem} in {JSON_NAME}", e) from None


def _find_voc2010(raw: Path) -> Path:
    d = find_folder(raw, ["", "VOC2010", "VOCdevkit/VOC2010"], ["JPEGImages"])
    if d is None:
        raise DatasetError(
            f"no JPEGImages folder in {raw}, {raw / 'VOC2010'} or {raw / 'VOCdevkit/VOC2010'}: pass "
            f"--raw the VOC2010 folder extracted from VOCtrainval_03-May-2010.tar.")
    return d


def _find_json(voc2010: Path, raw: Path, json_path) -> Path:
    if json_path is not None:
        p = expand(json_path)
        if not p.is_file():
            raise DatasetError(f"--json {p} not found: give the path of {JSON_NAME}.")
        return p
    for p in (voc2010 / JSON_NAME, raw / JSON_NAME, voc2010.parent / JSON_NAME):
        if p.is_file():
            return p
    raise DatasetError(
        f"{JSON_NAME} not found in {voc2010}: download it (docs/DATA.md) into that folder, or pass "
        f"--json PATH.")


def _group_annotations(annos, wanted: Dict[int, dict], jpath) -> Dict[int, list]:
    """``image_id -> [(class index, segmentation)]`` for the ``wanted`` images, each annotation checked."""
    grouped: Dict[int, list] = {iid: [] for iid in wanted}
    for a in annos:
        if isinstance(a, dict):  # an annotation without segmentation
            iid, cid, seg = a.get("image_id"), a.get("category_id"), a.get("segmentation")
        else:
            iid, cid, seg = a
        if iid not in grouped:
            continue
        img = wanted[iid]
        if cid not in ID_TO_INDEX:
            raise DatasetError(
                f"{jpath}: image {img['file_name']} has a segmentation of category id {cid}, which "
                f"is not one of the 59 PASCAL-Context ids (is this the PASCAL in Detail "
                f"trainval_merged.json?).")
        if seg is None:
            raise DatasetError(f"{jpath}: an annotation of image {img['file_name']} has no "
                               f"'segmentation'; download trainval_merged.json again.")
        if isinstance(seg, dict) and "size" in seg and list(seg["size"]) != [img["height"],
                                                                             img["width"]]:
            raise DatasetError(
                f"{jpath}: image {img['file_name']} is {img['height']}x{img['width']} but a mask "
                f"of it is {seg['size'][0]}x{seg['size'][1]}; download trainval_merged.json again.")
        grouped[iid].append((ID_TO_INDEX[cid], seg))
    return grouped


def prepare_pascal_context(key: str, raw: Path, data_dir: Path, train: bool = False,
                           workers: int = 1, json_path=None) -> PrepareResult:
    voc2010 = _find_voc2010(raw)
    jpath = _find_json(voc2010, raw, json_path)

    res = voc2010_destination(key, data_dir, voc2010)
    dest = res.root
    label_dir = dest / LABEL_DIR
    label_dir.mkdir(parents=True, exist_ok=True)
    clean_temp_files(label_dir)
    res.label_dirs.append(label_dir)

    phases = ["val"] + (["train"] if train else [])
    print(f"{key}: reading {jpath} (the full 590 MB file takes up to a minute and 1-2 GB of RAM)",
          file=sys.stderr)
    images, annos = load_detail_json(jpath)
    wanted: Dict[int, dict] = {}
    by_phase: Dict[str, List[dict]] = {p: [] for p in phases}
    for img in images:
        if img.get("phase") in by_phase:
            by_phase[img["phase"]].append(img)
            wanted[img["image_id"]] = img
    del images
    if not by_phase["val"]:
        raise DatasetError(f"{jpath} has no image with phase 'val': it is not the PASCAL in Detail "
                           f"trainval_merged.json (see docs/DATA.md).")

    grouped = _group_annotations(annos, wanted, jpath)
    annos.clear()
    del annos

    tasks = []
    for phase in phases:
        names = []
        for img in by_phase[phase]:
            name = os.path.splitext(img["file_name"])[0]
            names.append(name)
            out = label_dir / f"{name}.png"
            if label_is_valid(out, (img["width"], img["height"])):
                res.skipped += 1
            else:
                tasks.append((str(out), int(img["height"]), int(img["width"]),
                              grouped.get(img["image_id"], [])))
        names = sorted(names)
        missing = [n for n in names if not (voc2010 / "JPEGImages" / f"{n}.jpg").is_file()]
        if missing:  # labelled but not evaluable: left out of the split, so the folder passes its verifier
            from .verify import format_names

            res.warnings.append(f"{len(missing)} {phase} images of the JSON are missing from "
                                f"{voc2010 / 'JPEGImages'} (left out of {SPLIT_DIR}/{phase}.txt): "
                                f"{format_names(missing)}")
            gone = set(missing)
            names = [n for n in names if n not in gone]
        split = dest / SPLIT_DIR / f"{phase}.txt"
        if write_text_if_changed(split, "".join(n + "\n" for n in names)):
            res.notes.append(f"wrote {split} ({len(names)} names)")
    grouped.clear()
    run_tasks(_convert_one, tasks, workers=workers, desc=key)
    res.converted = len(tasks)
    return res
