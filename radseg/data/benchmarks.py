"""One table describing each benchmark's prepared (mmseg) layout.

Paths are relative to the dataset root, which is ``<data dir>/<root>`` by
default (``data/`` in the repo is the configs' default data dir). The facts
come from docs DATASETS.md (section 8: the verifier checklist).

No mmseg / mmengine / mmcv imports here: the data tools run without them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from ..errors import DatasetError

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Benchmark:
    """The prepared validation split of one benchmark.

    ``split_file`` is the ``ann_file`` (one basename per line) or ``None`` when
    mmseg scans ``img_dir`` recursively for ``img_suffix`` (sub-folders kept).
    ``max_label`` is the largest value allowed in a label PNG on disk;
    ``allows_255`` says whether 255 (ignore) may appear too.
    """

    key: str
    root: str
    img_dir: str
    img_suffix: str
    label_dir: str
    label_suffix: str
    split_file: Optional[str]
    val_count: int
    num_classes: int
    max_label: int
    allows_255: bool
    reduce_zero_label: bool

    @property
    def values_text(self) -> str:
        """Allowed on-disk values as text, e.g. ``"0..20 and 255"``."""
        return f"0..{self.max_label}" + (" and 255" if self.allows_255 else "")

    def allowed_values(self):
        """A length-256 boolean numpy array: which uint8 values may appear on disk."""
        import numpy as np

        ok = np.zeros(256, dtype=bool)
        ok[: self.max_label + 1] = True
        if self.allows_255:
            ok[255] = True
        return ok

    @property
    def alt_roots(self) -> Tuple[str, ...]:
        return ALT_ROOTS.get(self.key, ())


_VOC = dict(root="VOC2012", img_dir="JPEGImages", img_suffix=".jpg", label_dir="SegmentationClass",
            label_suffix=".png", split_file="ImageSets/Segmentation/val.txt", val_count=1449,
            max_label=20, allows_255=True)
_CONTEXT = dict(root="VOCdevkit/VOC2010", img_dir="JPEGImages", img_suffix=".jpg",
                label_dir="SegmentationClassContext", label_suffix=".png",
                split_file="ImageSets/SegmentationContext/val.txt", val_count=5104,
                max_label=59, allows_255=False)

BENCHMARKS: Dict[str, Benchmark] = {
    b.key: b for b in [
        Benchmark(key="voc20", num_classes=20, reduce_zero_label=True, **_VOC),
        Benchmark(key="voc21", num_classes=21, reduce_zero_label=False, **_VOC),
        Benchmark(key="context59", num_classes=59, reduce_zero_label=True, **_CONTEXT),
        Benchmark(key="context60", num_classes=60, reduce_zero_label=False, **_CONTEXT),
        Benchmark(key="coco_stuff164k", root="coco_stuff164k", img_dir="images/val2017",
                  img_suffix=".jpg", label_dir="annotations/val2017",
                  label_suffix="_labelTrainIds.png", split_file=None, val_count=5000,
                  num_classes=171, max_label=170, allows_255=True, reduce_zero_label=False),
        Benchmark(key="coco_object", root="coco_object", img_dir="images/val2017",
                  img_suffix=".jpg", label_dir="annotations/val2017",
                  label_suffix="_instanceTrainIds.png", split_file=None, val_count=5000,
                  num_classes=81, max_label=80, allows_255=False, reduce_zero_label=False),
        Benchmark(key="cityscapes", root="cityscapes", img_dir="leftImg8bit/val",
                  img_suffix="_leftImg8bit.png", label_dir="gtFine/val",
                  label_suffix="_gtFine_labelTrainIds.png", split_file=None, val_count=500,
                  num_classes=19, max_label=18, allows_255=True, reduce_zero_label=False),
        Benchmark(key="ade20k", root="ADEChallengeData2016", img_dir="images/validation",
                  img_suffix=".jpg", label_dir="annotations/validation", label_suffix=".png",
                  split_file=None, val_count=2000, num_classes=150, max_label=150,
                  allows_255=False, reduce_zero_label=True),
    ]
}

#: Benchmark keys, in the paper's order.
BENCHMARK_KEYS: Tuple[str, ...] = tuple(BENCHMARKS)

#: Default dataset root of each benchmark, relative to the data dir.
DEFAULT_ROOTS: Dict[str, str] = {k: b.root for k, b in BENCHMARKS.items()}

#: Other accepted root names (mmseg's and Trident's), tried after the default.
ALT_ROOTS: Dict[str, Tuple[str, ...]] = {
    "voc20": ("VOCdevkit/VOC2012",),
    "voc21": ("VOCdevkit/VOC2012",),
    "context59": ("VOC2010",),
    "context60": ("VOC2010",),
    "coco_stuff164k": ("COCOStuff",),
    "coco_object": ("COCOObject",),
    "cityscapes": ("CityScapes",),
    "ade20k": ("ade/ADEChallengeData2016",),
}

#: Default data dir (relative to the working directory, as in the configs).
DEFAULT_DATA_DIR = "data"


def default_data_dir() -> str:
    """``$RADSEG_DATA_DIR`` if set, else ``data`` (relative to the working directory)."""
    return os.environ.get("RADSEG_DATA_DIR") or DEFAULT_DATA_DIR


def get_benchmark(key: str) -> Benchmark:
    """The table entry for ``key``; an unknown key is a :class:`DatasetError`."""
    try:
        return BENCHMARKS[key]
    except KeyError:
        raise DatasetError(
            f"unknown benchmark '{key}': use one of {', '.join(BENCHMARK_KEYS)}.") from None


def candidate_roots(key: str, data_dir: PathLike) -> Tuple[Path, ...]:
    """``data_dir/<default root>`` then ``data_dir/<each alternative root>``."""
    b = get_benchmark(key)
    d = Path(os.path.expanduser(str(data_dir)))
    return tuple(d / r for r in (b.root,) + b.alt_roots)


def resolve_root(key: str, data_dir: PathLike) -> Path:
    """The first of :func:`candidate_roots` that is a directory, else the default one.

    Never raises for a missing folder: the verifier reports that with a fix.
    """
    cands = candidate_roots(key, data_dir)
    for c in cands:
        if c.is_dir():
            return c
    return cands[0]
