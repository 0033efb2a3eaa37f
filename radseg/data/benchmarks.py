"""One table describing each benchmark's prepared (mmseg) layout.

Paths are relative to the dataset root, which is ``<data dir>/<root>``; the data
dir follows ONE rule everywhere (:func:`resolve_data_dir`: the command's flag, then
``$RADSEG_DATA_DIR``, then ``./data``). Folder names and class counts come from
:mod:`radseg.presets`; the layout facts from docs DATASETS.md (section 8: the
verifier checklist).

No mmseg / mmengine / mmcv imports here: the data tools run without them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Tuple, Union

from ..errors import DatasetError
from ..presets import DATASETS as _DATASETS
from .mess import MESS_ENTRIES, MESS_KEYS

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Benchmark:
    """The prepared validation split of one benchmark.

    ``split_file`` is the ``ann_file`` (one basename per line) or ``None`` when
    mmseg scans ``img_dir`` recursively for ``img_suffix`` (sub-folders kept).
    ``max_label`` is the largest value allowed in a label PNG on disk;
    ``allows_255`` says whether 255 (ignore) may appear too. ``pairing``: ``"mmseg"`` (the
    split file, or a recursive scan of ``img_dir``) or ``"mess"`` (MESS's rule:
    :func:`radseg.data.mess.pair_files`).
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
    pairing: str = "mmseg"

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


_VOC = dict(img_dir="JPEGImages", img_suffix=".jpg", label_dir="SegmentationClass",
            label_suffix=".png", split_file="ImageSets/Segmentation/val.txt", val_count=1449,
            max_label=20, allows_255=True)
_CONTEXT = dict(img_dir="JPEGImages", img_suffix=".jpg",
                label_dir="SegmentationClassContext", label_suffix=".png",
                split_file="ImageSets/SegmentationContext/val.txt", val_count=5104,
                max_label=59, allows_255=False)


def _bench(key: str, **facts) -> Benchmark:
    """A table entry; folder names (``data_dirnames``) and class count come from :mod:`radseg.presets`."""
    facts_ = _DATASETS[key]
    return Benchmark(key=key, root=facts_.data_dirnames[0], num_classes=facts_.num_classes, **facts)


BENCHMARKS: Dict[str, Benchmark] = {
    b.key: b for b in [
        _bench("voc20", reduce_zero_label=True, **_VOC),
        _bench("voc21", reduce_zero_label=False, **_VOC),
        _bench("context59", reduce_zero_label=True, **_CONTEXT),
        _bench("context60", reduce_zero_label=False, **_CONTEXT),
        _bench("coco_stuff164k", img_dir="images/val2017",
               img_suffix=".jpg", label_dir="annotations/val2017",
               label_suffix="_labelTrainIds.png", split_file=None, val_count=5000,
               max_label=170, allows_255=True, reduce_zero_label=False),
        _bench("coco_object", img_dir="images/val2017",
               img_suffix=".jpg", label_dir="annotations/val2017",
               label_suffix="_instanceTrainIds.png", split_file=None, val_count=5000,
               max_label=80, allows_255=False, reduce_zero_label=False),
        _bench("cityscapes", img_dir="leftImg8bit/val",
               img_suffix="_leftImg8bit.png", label_dir="gtFine/val",
               label_suffix="_gtFine_labelTrainIds.png", split_file=None, val_count=500,
               max_label=18, allows_255=True, reduce_zero_label=False),
        _bench("ade20k", img_dir="images/validation",
               img_suffix=".jpg", label_dir="annotations/validation", label_suffix=".png",
               split_file=None, val_count=2000, max_label=150,
               allows_255=False, reduce_zero_label=True),
    ]
}

#: Benchmark keys, in the paper's order (MESS's entries not included: :data:`MESS_KEYS`).
BENCHMARK_KEYS: Tuple[str, ...] = tuple(BENCHMARKS)

#: The 25 MESS entries (:mod:`radseg.data.mess`): same checks, MESS's pairing rule and counts.
BENCHMARKS.update({
    e.key: Benchmark(key=e.key, root=e.root, img_dir=e.img_dir, img_suffix=e.img_ext, label_dir=e.label_dir,
                     label_suffix=e.label_ext, split_file=None, val_count=e.count, num_classes=e.num_classes,
                     max_label=e.num_classes - 1, allows_255=True, reduce_zero_label=False, pairing="mess")
    for e in MESS_ENTRIES.values()})

#: Default dataset root of each benchmark, relative to the data dir.
DEFAULT_ROOTS: Dict[str, str] = {k: BENCHMARKS[k].root for k in BENCHMARK_KEYS}

#: Other accepted root names (mmseg's and Trident's), tried after the default
#: (from :data:`radseg.presets.DATASETS` ``data_dirnames``).
ALT_ROOTS: Dict[str, Tuple[str, ...]] = {k: tuple(_DATASETS[k].data_dirnames[1:]) for k in BENCHMARK_KEYS}

#: Default data dir (relative to the working directory, as in the configs).
DEFAULT_DATA_DIR = "data"
#: The environment variable naming the data dir.
DATA_DIR_ENV = "RADSEG_DATA_DIR"


class DataDir(NamedTuple):
    """The data folder an entry point uses and where that choice came from."""

    path: Path
    source: str  # "--data-root" (the flag's name), "$RADSEG_DATA_DIR" or "the default ./data"

    @property
    def is_default(self) -> bool:
        """Neither the flag nor the environment variable chose it."""
        return self.source.startswith("the default")

    def describe(self) -> str:
        return f"{self.path} (from {self.source})"


def resolve_data_dir(cli_value: Optional[PathLike] = None, flag: str = "--data-root") -> DataDir:
    """THE data-folder rule of every entry point (eval.py, the sweep, ``radseg data``, process_dataset.sh).

    ``cli_value`` (the command's ``--data-root`` / ``--out`` / ``--data-dir``), else
    ``$RADSEG_DATA_DIR`` (an empty value counts as unset), else ``./data`` (relative to the
    working directory). Returns the absolute folder (``~`` expanded, symlinks kept) and its
    source; whether it exists is for the caller to check (``prepare`` creates it).
    An empty ``cli_value`` ("") is a :class:`DatasetError`.
    """
    if cli_value is not None and str(cli_value).strip() == "":
        raise DatasetError(f"{flag} is empty: give the data folder (it holds the benchmark folders), "
                        f"or leave {flag} out to use ${DATA_DIR_ENV} or ./data.")
    if cli_value is not None:
        value, source = str(cli_value), flag
    elif os.environ.get(DATA_DIR_ENV, "").strip():
        value, source = os.environ[DATA_DIR_ENV], f"${DATA_DIR_ENV}"
    else:
        value, source = DEFAULT_DATA_DIR, f"the default ./{DEFAULT_DATA_DIR}"
    return DataDir(Path(os.path.abspath(os.path.expanduser(value))), source)


def require_data_dir(data_dir: DataDir) -> Path:
    """``data_dir.path`` if it is an existing folder, else a one-line :class:`DatasetError` with the fix."""
    p, src = data_dir.path, data_dir.source
    if p.is_dir():
        return p
    if src.startswith("$"):
        fix = f"fix or unset {src}, or pass --data-root DIR"
    elif data_dir.is_default:
        fix = (f"prepare data there with `radseg data prepare DATASET --raw DOWNLOAD` (docs/DATA.md), "
               f"pass --data-root DIR or set ${DATA_DIR_ENV}")
    else:
        fix = "give the folder that holds the benchmark folders"
    what = "is a file, not a folder" if p.exists() else "does not exist"
    raise DatasetError(f"data folder {p} (from {src}) {what}: {fix}.")


def default_data_dir() -> str:
    """:func:`resolve_data_dir` without a command-line value, as a string."""
    return str(resolve_data_dir(None).path)


def get_benchmark(key: str) -> Benchmark:
    """The table entry for ``key``; an unknown key is a :class:`DatasetError`."""
    try:
        return BENCHMARKS[key]
    except KeyError:
        raise DatasetError(
            f"unknown benchmark '{key}': use one of {', '.join(BENCHMARK_KEYS)}, or a MESS entry "
            f"({', '.join(MESS_KEYS)}).") from None


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
