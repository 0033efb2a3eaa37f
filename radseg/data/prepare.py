"""Prepare a benchmark from its extracted official downloads (the dispatch to the converters).

``prepare_dataset(key, raw, data_dir)`` builds ``data_dir/<default root>`` in
the mmseg layout that the configs expect:

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

from pathlib import Path
from typing import Optional

from ..errors import DatasetError
from .benchmarks import PathLike, default_data_dir, get_benchmark, resolve_root
from .common import PrepareResult, default_workers, expand

__all__ = ["PrepareResult", "default_raw", "prepare_dataset"]


# ---------------------------------------------------------------- dispatch

def default_raw(key: str, data_dir: PathLike) -> Path:
    """Where the extracted download is looked for when ``--raw`` is not given (in place)."""
    if key == "coco_object":  # made from the COCO-Stuff maps
        return resolve_root("coco_stuff164k", data_dir)
    return resolve_root(key, data_dir)


def prepare_dataset(key: str, raw: Optional[PathLike] = None, data_dir: Optional[PathLike] = None,
                    train: bool = False, workers: Optional[int] = None,
                    json_path: Optional[PathLike] = None,
                    cityscapes_method: str = "auto") -> PrepareResult:
    """Convert / link benchmark ``key`` from the extracted download ``raw`` into ``data_dir``.

    ``raw`` defaults to the dataset's folder in ``data_dir`` (convert in place).
    ``json_path`` (Pascal Context only) overrides where ``trainval_merged.json`` is looked for.
    ``cityscapes_method``: ``auto`` (cityscapesscripts if installed, else remap
    ``_labelIds.png``), ``scripts`` or ``labelids``.
    """
    get_benchmark(key)
    data_dir = expand(data_dir if data_dir is not None else default_data_dir())
    raw = expand(raw) if raw is not None else default_raw(key, data_dir)
    if not raw.exists():
        raise DatasetError(
            f"raw folder {raw} not found: pass --raw with the folder where you extracted the "
            f"{key} download (see docs/DATA.md).")
    workers = default_workers() if workers is None else max(1, int(workers))
    if key in ("voc20", "voc21", "ade20k"):
        from .link import prepare_link

        return prepare_link(key, raw, data_dir)
    if key in ("context59", "context60"):
        from .pascal_context import prepare_pascal_context

        return prepare_pascal_context(key, raw, data_dir, train=train, workers=workers,
                                      json_path=json_path)
    if key in ("coco_stuff164k", "coco_object"):
        from .coco import prepare_coco

        return prepare_coco(key, raw, data_dir, train=train, workers=workers)
    from .cityscapes import prepare_cityscapes

    return prepare_cityscapes(key, raw, data_dir, train=train, workers=workers,
                              method=cityscapes_method)
