"""Where each benchmark's prepared (mmseg) layout lives, as the data tools read it.

Paths are relative to the dataset root, which is ``<data dir>/<root>``; the data
dir follows ONE rule everywhere (:func:`resolve_data_dir`: the command's flag, then
``$RADSEG_DATA_DIR``, then ``./data``). Every fact comes from the dataset registry
(:mod:`radseg.dataset_registry`, one :class:`~radseg.dataset_facts.DatasetFacts` per
dataset: the benchmarks, the 25 MESS entries, a user's own); the data tools and the
verifier read those entries directly (DATASETS.md section 8: the verifier checklist).

No mmseg / mmengine / mmcv imports here: the data tools run without them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple, Optional, Tuple, Union

from ..dataset_facts import DatasetFacts
from ..dataset_registry import DATASET_REGISTRY, dataset_names, get_dataset, has_dataset
from ..errors import DatasetError
from ..presets import DATASETS as _BUILTIN

PathLike = Union[str, "os.PathLike[str]"]

#: Every registered dataset (a live view of the registry: the benchmarks, MESS's entries, a user's own).
#: The entry type was once a separate ``Benchmark`` copy of 14 fields; it is :class:`DatasetFacts` now.
BENCHMARKS: Mapping[str, DatasetFacts] = DATASET_REGISTRY

#: The built-in benchmark keys, in the table's order (the paper's first; MESS's entries:
#: :data:`radseg.data.mess.MESS_KEYS`; everything registered: :func:`radseg.dataset_registry.dataset_names`).
BENCHMARK_KEYS: Tuple[str, ...] = tuple(_BUILTIN)


class _RootsView(Mapping):
    """``key -> default root`` (``alt=False``) or ``key -> other accepted roots`` over the registry, live."""

    def __init__(self, alt: bool):
        self._alt = alt

    def __getitem__(self, key: str):
        if not has_dataset(key):
            raise KeyError(key)
        f = get_dataset(key)
        return f.alt_roots if self._alt else f.root

    def __iter__(self) -> Iterator[str]:
        return iter(dataset_names())

    def __len__(self) -> int:
        return len(dataset_names())


#: Default dataset root of each dataset, relative to the data dir.
DEFAULT_ROOTS: Mapping[str, str] = _RootsView(alt=False)
#: Other accepted root names (mmseg's and Trident's), tried after the default (``data_dirnames[1:]``).
ALT_ROOTS: Mapping[str, Tuple[str, ...]] = _RootsView(alt=True)

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


def get_benchmark(key: str) -> DatasetFacts:
    """The registered entry for ``key``; an unknown key is a :class:`DatasetError`."""
    if has_dataset(key):
        return get_dataset(key)
    own = dataset_names("own")
    raise DatasetError(
        f"unknown benchmark '{key}': use one of {', '.join(BENCHMARK_KEYS)}, or a MESS entry "
        f"({', '.join(dataset_names('mess'))})" + (f", or {', '.join(own)}" if own else "") + ".")


def candidate_roots(key: str, data_dir: PathLike) -> Tuple[Path, ...]:
    """``data_dir/<default root>`` then ``data_dir/<each alternative root>``."""
    b = get_benchmark(key)
    d = Path(os.path.expanduser(str(data_dir)))
    return tuple(d / r for r in b.data_dirnames)


def resolve_root(key: str, data_dir: PathLike) -> Path:
    """The first of :func:`candidate_roots` that is a directory, else the default one.

    Never raises for a missing folder: the verifier reports that with a fix.
    """
    cands = candidate_roots(key, data_dir)
    for c in cands:
        if c.is_dir():
            return c
    return cands[0]
