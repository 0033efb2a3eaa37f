"""PASCAL-Context-459 (PC-459) labels from Mottaghi's ``trainval/*.mat``, as CAT-Seg converts them.

Reproduces CAT-Seg's ``datasets/prepare_pascal_context_459.py`` (= MESS's;
EXTRA_BENCHMARKS.md section 2.2), without detectron2: for each id of the val list,
``mask = scipy.io.loadmat('trainval/<id>.mat')['LabelMap'] - 1`` (uint16, so a 0 would
wrap to 65535 = unlabeled; values become 0..458) and
``Image.fromarray(mask).save('annotations_detectron2/pc459_val/<id>.tif', 'TIFF')``.
Images are not copied or re-encoded: evaluation reads ``VOC2010/JPEGImages/<id>.jpg``.

The val list is the one the literature's mmseg configs read,
``ImageSets/SegmentationContext/val.txt`` (written by ``radseg data prepare context59`` from
``trainval_merged.json``, 5,104 ids), or CAT-Seg's ``pascalcontext_val.txt`` (in the VOC2010
folder) when that is missing. A ``.tif`` is made for every id of either list (the spec's
recommendation: the union). An id without a ``trainval/<id>.mat`` gets no label, as CAT-Seg
skips it, and is left out of the split file this converter writes, PC-459's own
``ImageSets/SegmentationContext/pc459_val.txt`` (:data:`SPLIT_FILE`): the ids of the val list
that have a label, which is the set CAT-Seg evaluates (detectron2 pairs images with the labels
that exist), so the prepared folder passes its verifier. Context59/60's ``val.txt`` is shared
with other benchmarks and never written here. No mmseg / mmcv imports.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from ..errors import DatasetError
from .common import (
    PrepareResult,
    clean_temp_files,
    find_folder,
    label16_is_valid,
    run_tasks,
    save_label16,
    voc2010_destination,
    worker_error,
    write_text_if_changed,
)

LABEL_DIR = "annotations_detectron2/pc459_val"
#: PC-459's split (the dataset table's ``split_file``): the val list's ids that have a label
SPLIT_FILE = "ImageSets/SegmentationContext/pc459_val.txt"
#: Context59/60's split (``radseg data prepare context59``), the literature's PC-459 val list
CONTEXT_SPLIT = "ImageSets/SegmentationContext/val.txt"
CAT_LIST = "pascalcontext_val.txt"


def read_label_map(mat_path) -> np.ndarray:
    """``LabelMap`` of one Mottaghi ``.mat`` file (uint16, values 1..459)."""
    import scipy.io

    mat = scipy.io.loadmat(mat_path)
    if "LabelMap" not in mat:
        raise DatasetError(f"{mat_path} has no 'LabelMap': it is not one of the PASCAL-Context "
                           f"trainval.tar.gz files; extract that download again.")
    return mat["LabelMap"]


def convert_mask(label_map: np.ndarray) -> np.ndarray:
    """CAT-Seg's ``mask - 1`` on the uint16 ``LabelMap`` (0 wraps to 65535, as theirs does)."""
    if label_map.dtype != np.uint16 or label_map.ndim != 2:
        raise DatasetError(f"LabelMap is {label_map.dtype} {label_map.shape}, not a 2-D uint16 map "
                           f"(the PASCAL-Context 459 .mat files hold uint16)")
    return label_map - 1  # uint16 arithmetic, as in CAT-Seg (their assert mask.min() >= 0 cannot fail)


def _convert_one(task):
    src, out = task
    try:
        mask = convert_mask(read_label_map(src))
        save_label16(mask, out)
        return int((mask == 65535).sum())
    except Exception as e:  # noqa: BLE001 - reported as a one-line user error
        raise worker_error(src, e) from None


def _read_list(path: Path) -> List[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def prepare_pc459(key: str, raw: Path, data_dir: Path, workers: int = 1) -> PrepareResult:
    voc = find_folder(raw, ["", "VOC2010", "VOCdevkit/VOC2010"], ["JPEGImages", "trainval"])
    if voc is None:
        raise DatasetError(
            f"no JPEGImages/ and trainval/ in {raw}, {raw / 'VOC2010'} or {raw / 'VOCdevkit/VOC2010'}: pass "
            f"--raw the VOC2010 folder of VOCtrainval_03-May-2010.tar with Mottaghi's trainval.tar.gz "
            f"(trainval/*.mat) extracted into it (docs/DATA.md).")
    res = voc2010_destination(key, data_dir, voc)
    dest = res.root

    lists = {}
    for p in (dest / CONTEXT_SPLIT, voc / CONTEXT_SPLIT, voc / CAT_LIST, raw / CAT_LIST):
        if p.is_file() and p.resolve() not in {q.resolve() for q in lists}:
            lists[p] = _read_list(p)
    if not lists:
        raise DatasetError(
            f"no val list: neither {dest / CONTEXT_SPLIT} nor {voc / CAT_LIST} exists. Run `radseg data prepare "
            f"context59 --raw {voc}` first (it writes {CONTEXT_SPLIT}), or put CAT-Seg's {CAT_LIST} into {voc}.")
    ids = sorted(set().union(*lists.values()))
    # the evaluated list: Context's val.txt where there is one (the literature's ann_file), else the union
    context = next((lst for p, lst in lists.items() if p.name == "val.txt"), None)
    val_ids = sorted(set(context)) if context is not None else ids

    label_dir = dest / LABEL_DIR
    label_dir.mkdir(parents=True, exist_ok=True)
    clean_temp_files(label_dir)
    res.label_dirs.append(label_dir)
    tasks, no_mat = [], []
    from .common import image_size
    for n in ids:
        src, out, img = voc / "trainval" / f"{n}.mat", label_dir / f"{n}.tif", voc / "JPEGImages" / f"{n}.jpg"
        if not src.is_file():
            no_mat.append(n)
        elif img.is_file() and label16_is_valid(out, image_size(img)):
            res.skipped += 1
        else:
            tasks.append((str(src), str(out)))
    unlabeled = run_tasks(_convert_one, tasks, workers=workers, desc=key)
    res.converted = len(tasks)
    missing = set(no_mat)
    kept = [n for n in val_ids if n not in missing]
    if not kept:
        raise DatasetError(f"none of the {len(val_ids)} val ids has a trainval/<id>.mat in {voc / 'trainval'}: "
                           f"extract Mottaghi's trainval.tar.gz into {voc} (docs/DATA.md).")
    if write_text_if_changed(dest / SPLIT_FILE, "".join(n + "\n" for n in kept)):
        res.notes.append(f"wrote {dest / SPLIT_FILE} ({len(kept)} ids, from {', '.join(map(str, lists))})")
    if no_mat:
        from .verify import format_names
        left_out = sorted(missing.intersection(val_ids))
        res.warnings.append(f"{len(no_mat)} val ids have no trainval/<id>.mat (no label made, as CAT-Seg "
                            f"skips them; {len(left_out)} left out of {SPLIT_FILE}): {format_names(no_mat)}")
    if tasks:
        n_un = sum(1 for u in unlabeled if u)
        res.notes.append(f"{n_un} of the {len(tasks)} converted labels hold 65535 (LabelMap value 0 = unlabeled)")
    return res
