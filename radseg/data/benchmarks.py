"""Each benchmark's prepared (mmseg) layout, as the data tools read it.

Paths are relative to the dataset root, which is ``<data dir>/<root>``; the data
dir follows ONE rule everywhere (:func:`resolve_data_dir`: the command's flag, then
``$RADSEG_DATA_DIR``, then ``./data``). Every fact comes from the dataset table
(:data:`radseg.presets.DATASETS`, one :class:`~radseg.dataset_facts.DatasetFacts` per
dataset); :class:`Benchmark` is its view for ``radseg data`` and the verifier
(DATASETS.md section 8: the verifier checklist).

No mmseg / mmengine / mmcv imports here: the data tools run without them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Tuple, Union

from ..dataset_facts import DatasetFacts
from ..errors import DatasetError
from ..presets import DATASETS as _DATASETS
from .mess import MESS_FACTS, MESS_KEYS

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Benchmark:
    """The prepared validation split of one benchmark (a view of its dataset-table entry).

    ``split_file`` is the ``ann_file`` (one basename per line) or ``None`` when
    mmseg scans ``img_dir`` recursively for ``img_suffix`` (sub-folders kept).
    ``max_label`` is the largest class value allowed in a label file on disk;
    ``ignore_values`` the other values allowed there (255, 65535: unlabeled);
    ``label_dtype`` ``"uint8"`` (PNG) or ``"uint16"`` (16-bit TIFF). ``pairing``: ``"mmseg"``
    (the split file, or a recursive scan of ``img_dir``) or ``"mess"`` (MESS's rule:
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
    ignore_values: Tuple[int, ...]
    reduce_zero_label: bool
    label_dtype: str = "uint8"
    pairing: str = "mmseg"

    @classmethod
    def from_facts(cls, f: DatasetFacts) -> Benchmark:
        return cls(key=f.key, root=f.root, img_dir=f.img_dir, img_suffix=f.img_suffix, label_dir=f.label_dir,
                   label_suffix=f.label_suffix, split_file=f.split_file, val_count=f.val_count,
                   num_classes=f.num_classes, max_label=f.max_label, ignore_values=tuple(f.ignore_values),
                   reduce_zero_label=f.reduce_zero_label, label_dtype=f.label_dtype, pairing=f.pairing)

    @property
    def allows_255(self) -> bool:
        """255 (ignore) may appear in an 8-bit label."""
        return 255 in self.ignore_values

    @property
    def values_text(self) -> str:
        """Allowed on-disk values as text, e.g. ``"0..20 and 255"``."""
        return f"0..{self.max_label}" + "".join(f" and {v}" for v in self.ignore_values)

    def allowed_values(self):
        """A boolean numpy array over every value of the label dtype (256 or 65536 long):
        which values may appear on disk."""
        import numpy as np

        ok = np.zeros(65536 if self.label_dtype == "uint16" else 256, dtype=bool)
        ok[: self.max_label + 1] = True
        ok[list(self.ignore_values)] = True
        return ok

    @property
    def alt_roots(self) -> Tuple[str, ...]:
        return ALT_ROOTS.get(self.key, ())


BENCHMARKS: Dict[str, Benchmark] = {k: Benchmark.from_facts(f) for k, f in _DATASETS.items()}

#: Benchmark keys, in the table's order (the paper's first; MESS's entries: :data:`MESS_KEYS`).
BENCHMARK_KEYS: Tuple[str, ...] = tuple(BENCHMARKS)

#: The 25 MESS entries (:data:`radseg.data.mess.MESS_FACTS`, dataset-table entries of their own
#: family): same checks, with MESS's pairing rule and counts.
BENCHMARKS.update({k: Benchmark.from_facts(f) for k, f in MESS_FACTS.items()})

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
