"""Segment one image with free-text labels (the ``radseg segment`` command).

Images: anything Pillow (or, for 16-bit colour TIFF/PNG, OpenCV) reads. 16-bit and
other high-bit-depth images are scaled to 8 bits over their type's range (65535 -> 255;
float images in 0..1 -> 0..255; other ranges min-max), never clipped. Images above
:data:`MAX_SEGMENT_PIXELS` (16 megapixels) are downscaled to fit before segmenting
(the outputs are then at the reduced size, and a note names both sizes; a JPEG is decoded
at the smallest JPEG reduction still above the target, then resized to it); images above
:data:`MAX_IMAGE_PIXELS` (100 megapixels) are refused before they are decoded. Transparent
images (an alpha channel or a transparent palette entry) are composited over white,
:data:`ALPHA_BACKGROUND`, with a note. ``http(s)://`` inputs are not fetched.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Tuple

import numpy as np

from .errors import DatasetError

if TYPE_CHECKING:  # torch-free at import: the ONNX Runtime path without PyTorch reads images here
    from .core.encoder import SegmentationResult

logger = logging.getLogger(__name__)

#: larger images are downscaled to this many pixels (outputs are K x H x W float maps).
MAX_SEGMENT_PIXELS = 16_000_000
#: larger images are refused before decoding (about 300 MB as 8-bit RGB).
MAX_IMAGE_PIXELS = 100_000_000
#: transparent pixels are composited over this RGB colour (white).
ALPHA_BACKGROUND = (255, 255, 255)


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale an integer or float image to uint8 over its type's range (not clipped).

    ``uint8`` is returned as is; unsigned/signed integers map their type's range (or,
    for 32-bit integers, 0..65535 when the values fit, else min..max) onto 0..255;
    floats in 0..1 map to 0..255, other float ranges min..max.
    """
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    a = arr.astype(np.float64)
    finite = np.isfinite(a)
    if not finite.all():
        a = np.where(finite, a, 0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        if info.bits <= 16:
            lo_t, hi_t = float(info.min), float(info.max)
        elif lo >= 0 and hi <= 65535:  # e.g. Pillow's mode "I" for a 16-bit grey PNG
            lo_t, hi_t = 0.0, 65535.0
        else:
            lo_t, hi_t = lo, hi
    elif lo >= 0.0 and hi <= 1.0:
        lo_t, hi_t = 0.0, 1.0
    else:
        lo_t, hi_t = lo, hi
    scale = 255.0 / (hi_t - lo_t) if hi_t > lo_t else 0.0
    return np.rint((a - lo_t) * scale).clip(0, 255).astype(np.uint8)


def _to_rgb(arr: np.ndarray) -> np.ndarray:
    """``H x W``, ``H x W x 1/2/3/4`` (any dtype) -> ``H x W x 3`` uint8; an alpha channel
    (2 or 4 channels) is composited over :data:`ALPHA_BACKGROUND`."""
    arr = to_uint8(np.asarray(arr))
    if arr.ndim == 2:
        arr = arr[..., None]
    alpha = arr[..., -1] if arr.shape[2] in (2, 4) else None
    if arr.shape[2] in (1, 2):  # grey (+ alpha)
        arr = np.repeat(arr[..., :1], 3, axis=2)
    rgb = np.ascontiguousarray(arr[..., :3])
    return rgb if alpha is None else composite_alpha(rgb, alpha)


def composite_alpha(rgb: np.ndarray, alpha: np.ndarray, background=ALPHA_BACKGROUND) -> np.ndarray:
    """``rgb * a + background * (1 - a)`` in uint8 (``a = alpha / 255``, rounded half up)."""
    if alpha.min() == 255:
        return rgb
    a = alpha.astype(np.uint32)[..., None]
    bg = np.asarray(background, np.uint32)
    return ((rgb.astype(np.uint32) * a + bg * (255 - a) + 127) // 255).astype(np.uint8)


def has_transparency(im) -> bool:
    """Whether a Pillow image carries transparency (alpha band or a transparent palette entry)."""
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _pil_array(im) -> np.ndarray:
    """A Pillow image as an ``H x W x 3`` uint8 array, high bit depths scaled (not clipped)."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return _to_rgb(np.asarray(im).astype(np.uint16))
    if mode in ("I", "F"):
        return _to_rgb(np.asarray(im))
    if has_transparency(im):
        if mode in ("LA", "La") or (mode == "L" and "transparency" in im.info):
            return _to_rgb(np.asarray(im.convert("LA")))
        return _to_rgb(np.asarray(im.convert("RGBA")))
    return np.asarray(im.convert("RGB"))


def _read_with_opencv(path: str) -> Optional[np.ndarray]:
    """OpenCV's reading (16-bit colour PNG/TIFF that Pillow cannot open), or None."""
    try:
        import cv2
    except ImportError:  # pragma: no cover
        return None
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    level = log.getLogLevel() if log is not None else None
    if log is not None:  # OpenCV would print its own decoder complaints on stderr
        log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        arr = None
    finally:
        if log is not None:
            log.setLogLevel(level)
    if arr is None:
        return None
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[..., [2, 1, 0]]  # BGR(A) -> RGB
    return _to_rgb(arr)


def downscaled_size(w: int, h: int, max_pixels: int) -> Tuple[int, int]:
    """``(w', h')`` of an image of ``w x h`` downscaled to at most ``max_pixels`` (ratio kept)."""
    f = (max_pixels / float(h * w)) ** 0.5
    return max(1, int(w * f)), max(1, int(h * f))


def _downscale(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size = (w, h)`` (Pillow, bilinear with a reducing gap)."""
    from PIL import Image
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=2.0))


def is_url(path) -> bool:
    return str(path).strip().lower().startswith(("http://", "https://", "ftp://"))


def check_image_path(path: str) -> None:
    """Raise :class:`DatasetError` if ``path`` is a URL, a folder or not a file."""
    if is_url(path):
        raise DatasetError(f"image '{path}' is a URL; radseg does not fetch images: download it first "
                           f"(e.g. curl -LO '{path}') and pass the file.")
    if os.path.isdir(path):
        raise DatasetError(f"image '{path}' is a folder; give one image file (`radseg segment FOLDER` segments "
                           f"a folder's images; in Python, RADSegPredictor.predict_many a list of them).")
    if not os.path.isfile(path):
        raise DatasetError(f"image '{path}' does not exist.")


def load_image(path: Optional[str], max_pixels: Optional[int] = MAX_SEGMENT_PIXELS,
               notify: Optional[Callable[[str], None]] = None) -> Tuple[np.ndarray, str]:
    """``H x W x 3`` uint8 RGB; ``None`` -> scikit-image's example photo of a cat.

    High-bit-depth images are scaled to 8 bits (see :func:`to_uint8`). An image above
    ``max_pixels`` is downscaled to fit and ``notify`` (default: a logged warning) gets a
    sentence saying so; above :data:`MAX_IMAGE_PIXELS` it is refused with a
    :class:`DatasetError`, as are folders, missing and unreadable files.
    """
    if path is None:
        from skimage import data
        return data.chelsea(), "skimage.data.chelsea"
    from PIL import Image, UnidentifiedImageError
    path = str(path)
    check_image_path(path)
    limit = MAX_IMAGE_PIXELS

    def too_large(w, h):
        return DatasetError(
            f"image '{path}' is {w} x {h} pixels ({w * h / 1e6:.0f} MP), above radseg segment's limit of "
            f"{limit / 1e6:.0f} MP; downscale it first (e.g. to at most {MAX_SEGMENT_PIXELS / 1e6:.0f} MP).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > limit:
                    raise too_large(w, h)
                if max_pixels and w * h > max_pixels and im.format == "JPEG":
                    # JPEG decodes at 1/2, 1/4 or 1/8 scale: draft picks the smallest one still at
                    # least the target size; the resize below then brings it to the target exactly
                    im.draft(im.mode if im.mode in ("RGB", "L") else "RGB", downscaled_size(w, h, max_pixels))
                transparent = has_transparency(im)
                image = _pil_array(im)
    except Image.DecompressionBombError:
        raise DatasetError(f"image '{path}' is larger than radseg segment's limit of {limit / 1e6:.0f} MP; "
                           f"downscale it first (e.g. to at most {MAX_SEGMENT_PIXELS / 1e6:.0f} MP).") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        # OpenCV only for formats Pillow does not know (not for a truncated file it knows)
        image = _read_with_opencv(path) if isinstance(e, UnidentifiedImageError) else None
        if image is None:
            why = ("not an image format Pillow or OpenCV reads, or a damaged file"
                   if isinstance(e, UnidentifiedImageError)
                   else str(e).replace(f"'{path}'", "").strip() or type(e).__name__)
            raise DatasetError(f"cannot read image '{path}' ({why}). Give a JPEG or PNG file.") from None
        w, h = image.shape[1], image.shape[0]
        if w * h > limit:
            raise too_large(w, h) from None
        transparent = False  # OpenCV's alpha (if any) is composited by _to_rgb without a note
    note = notify or logger.warning
    if transparent:
        note(f"image '{path}' has transparency: composited over white before segmenting.")
    if max_pixels and w * h > max_pixels:
        size = downscaled_size(w, h, max_pixels)
        if (image.shape[1], image.shape[0]) != size:
            image = _downscale(image, size)
        note(f"image '{path}' is {w} x {h} pixels, above {max_pixels / 1e6:g} MP: segmenting it downscaled "
             f"to {image.shape[1]} x {image.shape[0]} (the outputs have that size).")
    return image, path


def output_paths(out_prefix) -> Tuple[Path, Path]:
    """``<prefix>_overlay.png`` and ``<prefix>_labels.png``."""
    out = Path(out_prefix)
    return out.with_name(out.name + "_overlay.png"), out.with_name(out.name + "_labels.png")


def check_output_prefix(out_prefix) -> Tuple[Path, Path]:
    """Fail before any work if the outputs of ``out_prefix`` cannot be written.

    Checks that the nearest existing folder above the outputs is a folder we may write
    in (a probe file is created and removed there), and that no output path is a folder
    or a read-only file. Creates nothing. Raises :class:`radseg.errors.OutputError`.
    """
    from .errors import OutputError
    paths = output_paths(out_prefix)
    for p in paths:
        if p.is_dir():
            raise OutputError(f"output '{p}' is a folder; pass another --out prefix.")
        if p.exists() and not os.access(p, os.W_OK):
            raise OutputError(f"output '{p}' exists and is read-only; pass another --out or fix its permissions.")
    check_writable_folder(paths[0].parent, out_prefix, inside=True)
    return paths


def check_writable_folder(folder: Path, flag_value, inside: bool = False) -> Path:
    """Fail unless files can be created in ``folder`` or, where it does not exist yet, in its
    nearest existing parent: a probe file is created and removed there (``os.access`` says nothing
    about read-only or special file systems, nor about root). ``flag_value`` is the ``--out`` text
    for the message; ``inside``: ``--out`` is a prefix inside the folder. Returns the folder probed."""
    import tempfile

    from .errors import OutputError
    probe = Path(folder)
    while not probe.exists():
        if probe.is_symlink() or probe == probe.parent:
            break
        probe = probe.parent
    if not probe.is_dir():
        where = "pass an --out inside a folder" if inside else "give an output folder"
        raise OutputError(f"--out '{flag_value}': '{probe}' is a file, not a folder; {where}.")
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".radseg-write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise OutputError(f"--out '{flag_value}': cannot write in '{probe}' ({e.strerror or e}); pass an --out "
                          f"in a folder you can write to.") from None
    return probe


def save_outputs(image_rgb: np.ndarray, result: SegmentationResult, names, out_prefix: str,
                 notify: Optional[Callable[[str], None]] = None):
    """Write ``<prefix>_overlay.png`` and ``<prefix>_labels.png``; returns both paths.

    ``notify`` gets a sentence if the legend font lacks some characters of ``names``."""
    from .visualize import label_map_image, overlay
    labels = result.labels.cpu().numpy()
    ov, lm = output_paths(out_prefix)
    ov.parent.mkdir(parents=True, exist_ok=True)
    overlay(image_rgb, labels, names, notify=notify).save(ov)
    label_map_image(labels, len(names)).save(lm)
    return ov, lm
