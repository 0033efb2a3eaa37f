"""The only part of radseg that imports mmseg / mmengine.

Importing it makes mmseg work on mmcv-lite (:mod:`.compat`) and registers
``RADSegSegmentation``, the extra datasets and the loading transforms in
mmseg's registries.
"""
from .compat import ensure_mmcv_ops

ensure_mmcv_ops()

from . import datasets, mess, metric, segmentor, transforms  # noqa: E402,F401  (registration)
from .segmentor import RADSegSegmentation  # noqa: E402

__all__ = ["RADSegSegmentation", "ensure_mmcv_ops"]
