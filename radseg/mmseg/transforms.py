"""mmseg's loading transforms with a clear error for an unreadable file.

They call the original transforms unchanged (same decoder, same output) and
only turn a decoding failure into a :class:`radseg.errors.DatasetError` that
names the file.
"""
from __future__ import annotations

from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from ..errors import DatasetError


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
    """mmseg ``LoadAnnotations`` that names a corrupt label file."""

    def _load_seg_map(self, results: dict) -> None:
        try:
            return super()._load_seg_map(results)
        except AssertionError:
            raise
        except Exception as e:
            raise _fail("label", results.get("seg_map_path", "?"), e) from None
