"""PASCAL VOC 2012 and ADE20K: no conversion; check the extracted folder and link it into place.

``--raw`` may be the dataset folder itself or a folder above it
(``VOCdevkit/VOC2012``, ``ADEChallengeData2016``). The quick verifier checks
it (folders, split file, every image has its label) before a symlink
``DATA/<default root>`` -> raw folder is made. If the raw folder already is
one of the accepted roots in the data folder, nothing is linked.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from .benchmarks import ALT_ROOTS, DEFAULT_ROOTS
from .common import PrepareResult, ensure_link, find_folder, same_path

_LOOK = {
    "voc": (["", "VOC2012", "VOCdevkit/VOC2012"],
            ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation/val.txt"],
            "the VOCdevkit/VOC2012 folder extracted from VOCtrainval_11-May-2012.tar"),
    "ade20k": (["", "ADEChallengeData2016", "ade/ADEChallengeData2016"],
               ["images/validation", "annotations/validation"],
               "the ADEChallengeData2016 folder extracted from ADEChallengeData2016.zip"),
}


def prepare_link(key: str, raw: Path, data_dir: Path) -> PrepareResult:
    from .verify import verify_dataset

    cands, required, what = _LOOK["voc" if key.startswith("voc") else key]
    src = find_folder(raw, cands, required)
    if src is None:
        raise DatasetError(f"{raw} does not hold {', '.join(required)}: pass --raw {what}.")
    rep = verify_dataset(key, src, quick=True)
    if not rep.ok:
        raise DatasetError(f"{src} is not a complete {key} download: {rep.errors[0]}"
                           + (f" (+{len(rep.errors) - 1} more problems)" if len(rep.errors) > 1
                              else ""))
    roots = [data_dir / DEFAULT_ROOTS[key]] + [data_dir / r for r in ALT_ROOTS[key]]
    here = next((r for r in roots if r.exists() and same_path(r, src)), None)
    res = PrepareResult(key=key, root=here or roots[0], conversion=False)
    if here is not None:
        res.notes.append(f"nothing to convert or link: {here} is already in place"
                         + (f" (-> {src.resolve()})" if here.is_symlink() else ""))
    else:
        ensure_link(roots[0], src)
        res.notes.append(f"no conversion needed; linked {roots[0]} -> {src.resolve()}")
    return res
