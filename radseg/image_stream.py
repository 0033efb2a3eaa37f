"""Images decoded and resized in background workers, for segmenting many of them.

:class:`DecodedImages` is a ``torch.utils.data.Dataset`` whose items are one image each,
read and turned into the network input exactly as :meth:`RADSegPredictor.predict` does
(:func:`radseg.predictor.load_rgb`, then :func:`radseg.preprocess.network_input`), so the
labels equal one-at-a-time prediction. A ``DataLoader`` over it (``num_workers``) does the
decoding and resizing off the main process; :func:`stream_results` runs the model on its
batches and yields each item with its result, in input order
(:meth:`radseg.RADSegPredictor.iter_predictions` makes ``Prediction`` objects of them).
A file that cannot be read becomes an error for that index, never an exception mid-run.
"""
from __future__ import annotations

import time
from typing import Iterator, NamedTuple, Optional, Sequence, Tuple

import torch

from .errors import RADSegError


class Decoded(NamedTuple):
    """One item: ``rgb`` (``H x W x 3`` uint8) and ``x`` (``3 x H' x W'`` float32 network input),
    or ``error`` (one line); ``notes``: sentences about the image (downscaled, transparency);
    ``size``: the file's own ``(width, height)`` before any downscale; ``ms``: decode + resize time."""
    index: int
    rgb: Optional[object]
    x: Optional[torch.Tensor]
    error: Optional[str]
    notes: Tuple[str, ...]
    size: Optional[Tuple[int, int]]
    ms: float


class DecodedImages(torch.utils.data.Dataset):
    """``images`` (paths, arrays, PIL images, tensors) -> :class:`Decoded` items; ``scale``: the
    config's test resize (``RADSegConfig.scale``); ``read``: non-path item -> ``H x W x 3``
    uint8 (``radseg.predictor.load_rgb``; a module-level function, so workers can pickle it)."""

    def __init__(self, images: Sequence, scale, read=None):
        self.images = list(images)
        self.scale = scale
        self.read = read

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Decoded:
        from .preprocess import network_input
        from .segment import load_image
        t0 = time.perf_counter()
        item, notes, size = self.images[i], [], None
        try:
            if isinstance(item, str) or hasattr(item, "__fspath__"):
                rgb = load_image(str(item), notify=notes.append)[0]
                size = _file_size(str(item)) or (rgb.shape[1], rgb.shape[0])
            else:
                if self.read is None:
                    raise RADSegError(f"cannot read an image from a {type(item).__name__} here; give a path.")
                rgb = self.read(item)
                size = (rgb.shape[1], rgb.shape[0])
            x = network_input(rgb, self.scale)[0]
        except RADSegError as e:
            return Decoded(i, None, None, str(e), tuple(notes), size, 1e3 * (time.perf_counter() - t0))
        return Decoded(i, rgb, x, None, tuple(notes), size, 1e3 * (time.perf_counter() - t0))


def _file_size(path: str) -> Optional[Tuple[int, int]]:
    """The image file's ``(width, height)`` from its header (None if Pillow cannot tell)."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001 - OpenCV-only formats: the decoded size is used
        return None


def _as_list(batch):
    return batch


def image_loader(images: Sequence, scale, batch_size: int = 1, num_workers: int = 0,
                 indices: Optional[Sequence[int]] = None, read=None) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of lists of :class:`Decoded` (``batch_size`` each, input order).
    ``indices``: only these items (a shard), still in order."""
    ds = DecodedImages(images, scale, read)
    if indices is not None:
        ds = torch.utils.data.Subset(ds, list(indices))
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                                       collate_fn=_as_list)


def check_batching(batch_size: int, num_workers: int) -> None:
    from .errors import ConfigError
    for name, v, low in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ConfigError(f"{name} must be a whole number >= {low} (got {v!r}).")


@torch.no_grad()
def stream_results(predictor, images: Sequence, batch_size: int = 1, num_workers: int = 0,
                   indices: Optional[Sequence[int]] = None, read=None) -> Iterator[Tuple[Decoded, object, float]]:
    """Segment ``images`` with ``predictor``'s encoder (its current classes); yields ``(Decoded,
    SegmentationResult or None, segment ms per image)`` per image in order (``None`` when the
    item's ``error`` is set). ``read``: how non-path items become RGB arrays (the predictor's
    ``load_rgb``).

    A batch's equal-size images share backbone calls
    (:meth:`radseg.core.encoder.RADSegEncoder.predict_batch`); ``batch_size`` 1 runs
    :meth:`RADSegEncoder.predict` per image, exactly as ``RADSegPredictor.predict`` does.
    """
    check_batching(batch_size, num_workers)
    encoder, device = predictor.encoder, predictor.device
    for batch in image_loader(images, predictor.config.scale, batch_size, num_workers, indices, read):
        good = [d for d in batch if d.error is None]
        t0 = time.perf_counter()
        if len(good) == 1:
            results = [encoder.predict(good[0].x[None].to(device), ori_shape=good[0].rgb.shape[:2])]
        elif good:
            results = encoder.predict_batch([d.x[None].to(device) for d in good],
                                            ori_shapes=[d.rgb.shape[:2] for d in good])
        else:
            results = []
        if results and results[-1].labels.is_cuda:
            torch.cuda.synchronize(results[-1].labels.device)
        seg_ms = 1e3 * (time.perf_counter() - t0) / max(len(good), 1)
        by_index = {d.index: r for d, r in zip(good, results)}
        for d in batch:
            yield d, by_index.get(d.index), seg_ms
