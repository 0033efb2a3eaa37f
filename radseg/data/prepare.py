"""Prepare a benchmark from its extracted official downloads (the dispatch to the converters).

``prepare_dataset(key, raw, data_dir)`` builds ``data_dir/<default root>`` in
the mmseg layout that the configs expect, with the converter that the dataset's
table entry names (:attr:`radseg.dataset_facts.DatasetFacts.converter`,
``"module:function"`` in this package):

* ``voc20`` / ``voc21`` / ``ade20k``: nothing to convert; check and symlink (:mod:`.link`).
* ``context59`` / ``context60``: masks from ``trainval_merged.json`` (:mod:`.pascal_context`).
* ``coco_stuff164k`` / ``coco_object``: remap the stuff-thing maps (:mod:`.coco`).
* ``cityscapes``: ``_gtFine_labelTrainIds.png`` (:mod:`.cityscapes`).

Idempotent: an existing label PNG with the right size and mode is kept, and a
second run says it converted nothing. Labels are written atomically (temporary
name, then ``os.replace``). Only the val split unless ``train=True``.
The helpers the converters share are in :mod:`.common` (the converters import that, not
this module, which imports them). No mmseg / mmengine / mmcv imports.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Callable, Optional

from ..dataset_registry import get_dataset
from ..errors import DatasetError
from .benchmarks import PathLike, default_data_dir, get_benchmark, resolve_root
from .common import PrepareResult, default_workers, expand

__all__ = ["PrepareResult", "converter", "default_raw", "prepare_dataset"]


# ---------------------------------------------------------------- dispatch

def default_raw(key: str, data_dir: PathLike) -> Path:
    """Where the extracted download is looked for when ``--raw`` is not given (in place; for
    a dataset made from another one's download, e.g. COCO-Object, that one's folder)."""
    return resolve_root(get_dataset(key).raw_from or key, data_dir)


def converter(key: str) -> Callable:
    """The function that prepares ``key`` (its table entry's ``converter``, ``"module:function"``)."""
    module, _, func = get_dataset(key).converter.partition(":")
    return getattr(importlib.import_module(f".{module}", __package__), func)


def prepare_dataset(key: str, raw: Optional[PathLike] = None, data_dir: Optional[PathLike] = None,
                    train: bool = False, workers: Optional[int] = None,
                    json_path: Optional[PathLike] = None,
                    cityscapes_method: str = "auto") -> PrepareResult:
    """Convert / link benchmark ``key`` from the extracted download ``raw`` into ``data_dir``.

    ``raw`` defaults to the dataset's folder in ``data_dir`` (convert in place).
    ``json_path`` (Pascal Context only) overrides where ``trainval_merged.json`` is looked for.
    ``cityscapes_method``: ``auto`` (cityscapesscripts if installed, else remap
    ``_labelIds.png``), ``scripts`` or ``labelids``. The converter gets the options it takes.
    """
    get_benchmark(key)
    data_dir = expand(data_dir if data_dir is not None else default_data_dir())
    raw = expand(raw) if raw is not None else default_raw(key, data_dir)
    if not raw.exists():
        raise DatasetError(
            f"raw folder {raw} not found: pass --raw with the folder where you extracted the "
            f"{key} download (see docs/DATA.md).")
    workers = default_workers() if workers is None else max(1, int(workers))
    fn = converter(key)
    options = dict(train=train, workers=workers, json_path=json_path, method=cityscapes_method)
    takes = inspect.signature(fn).parameters
    return fn(key, raw, data_dir, **{k: v for k, v in options.items() if k in takes})
