"""Segment one image with free-text labels (the ``radseg segment`` command)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from .encoder import RADSegEncoder, SegmentationResult, normalize_image
from .errors import DatasetError

#: mid-res defaults (long side at most 2048, short side 448; windows 336/224).
DEFAULT_SCALE = (2048, 448)


def load_image(path: Optional[str]) -> Tuple[np.ndarray, str]:
    """``H x W x 3`` uint8 RGB; ``None`` -> scikit-image's example photo of a cat."""
    if path is None:
        from skimage import data
        return data.chelsea(), "skimage.data.chelsea"
    from PIL import Image, UnidentifiedImageError
    if not os.path.isfile(path):
        raise DatasetError(f"image '{path}' does not exist.")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB")), path
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"cannot read image '{path}' ({e}). Give a JPEG or PNG file.") from None


def rescale_like_mmseg(image: np.ndarray, scale: Sequence[int]) -> np.ndarray:
    """mmseg's test ``Resize(scale, keep_ratio=True)`` (mmcv.imrescale, bilinear)."""
    import mmcv
    return mmcv.imrescale(image, tuple(scale), interpolation="bilinear")


def segment_image(encoder: RADSegEncoder, image_rgb: np.ndarray, classes,
                  scale: Optional[Sequence[int]] = DEFAULT_SCALE) -> SegmentationResult:
    """Segment ``image_rgb`` (``H x W x 3`` uint8) into ``classes``; outputs at ``H x W``."""
    h0, w0 = image_rgb.shape[:2]
    net_in = rescale_like_mmseg(image_rgb, scale) if scale else image_rgb
    x = torch.from_numpy(np.ascontiguousarray(net_in)).permute(2, 0, 1)
    x = normalize_image(x)[None]
    return encoder.predict(x, ori_shape=(h0, w0), classes=classes)


def save_outputs(image_rgb: np.ndarray, result: SegmentationResult, names, out_prefix: str):
    """Write ``<prefix>_overlay.png`` and ``<prefix>_labels.png``; returns both paths."""
    from .visualize import label_map_image, overlay
    labels = result.labels.cpu().numpy()
    out = Path(out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    ov = out.with_name(out.name + "_overlay.png")
    lm = out.with_name(out.name + "_labels.png")
    overlay(image_rgb, labels, names).save(ov)
    label_map_image(labels, len(names)).save(lm)
    return ov, lm
