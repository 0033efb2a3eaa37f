"""mmseg's loading transforms with a clear error for an unreadable file, and 16-bit labels.

They call the original transforms unchanged (same decoder, same output) and
only turn a decoding failure into a :class:`radseg.errors.DatasetError` that
names the file. ``RADSegLoadAnnotations(label_dtype='uint16')`` loads 16-bit
labels losslessly (ADE-847, PC-459): mmseg's loader ends in ``.astype(np.uint8)``,
which would keep only the low 8 bits (EXTRA_BENCHMARKS.md section 0).

Labels with a side of 1 pixel (1 x 1, 1 x N, N x 1): mmseg's loader calls ``.squeeze()`` on the
decoded map, which also drops a size-1 image axis, and ``PackSegInputs`` then asserts "The dim of
value must be 2 or 3". Both dtypes here drop only a size-1 channel axis
(:func:`drop_channel_axis`); on every map with both sides above 1 that is what ``.squeeze()``
does, so the labels are the same arrays as mmseg's.
"""
from __future__ import annotations

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from ..errors import DatasetError


def drop_channel_axis(gt: np.ndarray) -> np.ndarray:
    """A decoded label map ``H x W`` or ``H x W x 1`` -> ``H x W`` (``H`` or ``W`` may be 1);
    any other shape is returned unchanged (mmseg's ``.squeeze()`` without touching the image
    axes)."""
    return gt[..., 0] if gt.ndim == 3 and gt.shape[2] == 1 else gt


def _fail(kind: str, path: str, err: Exception) -> DatasetError:
    detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return DatasetError(
        f"cannot read {kind} '{path}' ({detail}). The file is corrupt or not an image: "
        f"re-extract it from the original download, or remove it from the split.")


@TRANSFORMS.register_module()
class RADSegLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` (cv2, BGR) that names a corrupt image instead of asserting."""

    def transform(self, results: dict):
        try:
            return super().transform(results)
        except DatasetError:
            raise
        except Exception as e:  # AssertionError from a None decode, cv2/PIL errors
            raise _fail("image", results.get("img_path", "?"), e) from None


@TRANSFORMS.register_module()
class RADSegLoadAnnotations(LoadAnnotations):
    """mmseg ``LoadAnnotations`` that names a corrupt label file.

    ``label_dtype='uint8'`` (default): mmseg's steps (pillow decode, ``flag='unchanged'``,
    ``.astype(np.uint8)``, reduce_zero_label, label_map). ``'uint16'``: the same steps ending in
    ``.astype(np.uint16)``, as the literature's ``MyLoadAnnotations`` does, so values above
    255 and 65535 survive; ``PackSegInputs`` then makes them int64. Both keep a 1-pixel side
    (module doc).
    """

    def __init__(self, label_dtype: str = "uint8", **kwargs) -> None:
        if label_dtype not in ("uint8", "uint16"):
            raise ValueError(f"label_dtype must be 'uint8' or 'uint16', got {label_dtype!r}")
        super().__init__(**kwargs)
        self.label_dtype = label_dtype

    def _load_seg_map(self, results: dict) -> None:
        try:
            return self._load_seg_map_as(results)
        except AssertionError:
            raise
        except Exception as e:
            raise _fail("label", results.get("seg_map_path", "?"), e) from None

    def _load_seg_map_as(self, results: dict) -> None:
        """mmseg 1.2.2 ``LoadAnnotations._load_seg_map`` with :func:`drop_channel_axis` for
        ``.squeeze()`` and, for ``'uint16'``, ``np.uint16`` for ``np.uint8`` (and a shape check)."""
        img_bytes = fileio.get(results["seg_map_path"], backend_args=self.backend_args)
        gt = drop_channel_axis(mmcv.imfrombytes(img_bytes, flag="unchanged", backend=self.imdecode_backend))
        if self.label_dtype == "uint16":
            if gt.dtype not in (np.uint8, np.uint16) or gt.ndim != 2:
                raise ValueError(f"not a single-channel 8- or 16-bit label map ({gt.dtype}, shape {gt.shape})")
            gt = gt.astype(np.uint16)
        else:
            gt = gt.astype(np.uint8)
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results["reduce_zero_label"]
        assert self.reduce_zero_label == results["reduce_zero_label"], \
            "Initialize dataset with `reduce_zero_label` as " \
            f"{results['reduce_zero_label']} but when load annotation " \
            f"the `reduce_zero_label` is {self.reduce_zero_label}"
        if self.reduce_zero_label:  # mmseg's (and the literature's) steps, kept as they are
            gt[gt == 0] = 255
            gt = gt - 1
            gt[gt == 254] = 255
        if results.get("label_map", None) is not None:
            gt_copy = gt.copy()
            for old_id, new_id in results["label_map"].items():
                gt[gt_copy == old_id] = new_id
        results["gt_seg_map"] = gt
        results["seg_fields"].append("gt_seg_map")
