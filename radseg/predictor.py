"""``RADSegPredictor``: one configured RADSeg (RADSeg+), images in, label maps out.

In the style of segment-anything's ``SamPredictor``::

    from radseg import RADSegPredictor
    predictor = RADSegPredictor.from_pretrained("c-radio_v3-b")        # or "tiny-random" offline
    result = predictor.predict("photo.jpg", ["sky", "dog", "grass|lawn"])
    result.labels     # H x W int64 class indices into result.classes
    result.probs      # K x H x W float32 (denoised; RADSeg+: refined scores)
    result.overlay()  # PIL image with a legend

It does the evaluation's test pipeline itself (mmseg's ``Resize(scale,
keep_ratio=True)`` with the config's ``scale``, then CLIP normalisation), so a
notebook user passes plain images. ``radseg segment``, the mmseg segmentor and
the demo all go through it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .class_names import ClassesLike, parse_classes  # noqa: F401 (the old import path)
from .config import RADSegConfig
from .errors import ConfigError, RADSegError
from .preprocess import network_input

if TYPE_CHECKING:
    from PIL import Image

    from .core.encoder import RADSegEncoder, SegmentationResult

ImageLike = Union[str, Path, "np.ndarray", torch.Tensor, "PIL.Image.Image"]  # noqa: F821
DeviceLike = Optional[Union[str, torch.device]]  # None: CUDA when available


@dataclass
class Prediction:
    """One image's result.

    ``labels``: ``H x W`` int64 indices into ``classes``; ``probs``: ``K x H x W`` float32;
    both at the input image's size, on the predictor's device. ``classes``: the display
    name of each class (its first synonym). ``image``: the input as ``H x W x 3`` uint8
    RGB. ``timings``: milliseconds per stage (``preprocess``, ``segment``, ``total``).
    """
    labels: torch.Tensor
    probs: torch.Tensor
    classes: List[str]
    image: np.ndarray
    timings: Dict[str, float] = field(default_factory=dict)

    def overlay(self, alpha: float = 0.5, legend: bool = True) -> Image.Image:
        """Class colours blended over the image, with a legend of every class (PIL image)."""
        from .visualize import overlay
        return overlay(self.image, self.labels.cpu().numpy(), self.classes, alpha=alpha, legend=legend)

    def label_image(self) -> Image.Image:
        """The label map as a palette PNG image (pixel value = class index)."""
        from .visualize import label_map_image
        return label_map_image(self.labels.cpu().numpy(), len(self.classes))


def load_rgb(image: ImageLike) -> np.ndarray:
    """Any accepted image -> ``H x W x 3`` uint8 RGB.

    * a path (str / Path): read with :func:`radseg.segment.load_image` (high bit depths
      scaled to 8 bits; folders, missing and unreadable files are clear errors);
    * a PIL image; an ``H x W x 3`` (or ``H x W``) numpy array, uint8 or wider (scaled);
    * a ``3 x H x W`` torch tensor: **uint8 is read as 0..255, a floating tensor as 0..1**
      (torchvision's convention; a float tensor above 1 is an error).
    """
    from .segment import _pil_array, _to_rgb, load_image
    if isinstance(image, (str, Path)):
        return load_image(str(image))[0]
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.dim() != 3 or t.shape[0] not in (1, 3):
            raise ConfigError(f"an image tensor must be 3 x H x W (got {tuple(t.shape)}); "
                              f"use predict_batch for B x 3 x H x W.")
        if t.dtype == torch.uint8:
            arr = t.permute(1, 2, 0).numpy()
        elif t.is_floating_point():
            lo, hi = float(t.min()), float(t.max())
            if lo < 0 or hi > 1:
                raise ConfigError(f"a float image tensor is read as 0..1 RGB, but its values span "
                                  f"{lo:.3g}..{hi:.3g}; divide by 255 or pass a uint8 tensor.")
            arr = (t * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        else:
            raise ConfigError(f"image tensors must be uint8 (0..255) or floating (0..1), not {t.dtype}.")
        return _to_rgb(arr)
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
            raise ConfigError(f"an image array must be H x W x 3 (got shape {image.shape}).")
        return _to_rgb(image)
    try:
        from PIL import Image
        if isinstance(image, Image.Image):
            return _pil_array(image)
    except ImportError:  # pragma: no cover
        pass
    raise ConfigError(f"cannot read an image from a {type(image).__name__}: give a path, a PIL image, "
                      f"an H x W x 3 uint8 array or a 3 x H x W tensor.")


class RADSegPredictor:
    """A configured RADSeg: the encoder (RADIO + SCRA + SCGA + text), optional SAM refinement.

    Build with :meth:`from_pretrained` or :meth:`from_config`; ``config`` is the
    :class:`RADSegConfig` it was built from.
    """

    def __init__(self, encoder: RADSegEncoder, config: RADSegConfig):
        self.encoder = encoder
        self.config = config
        self._classes: Optional[List[List[str]]] = None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model_version: str = RADSegConfig.model_version, sam_refine: bool = False,
                        device: DeviceLike = None, config: Optional[RADSegConfig] = None,
                        **overrides: Any) -> RADSegPredictor:
        """Load RADIO (and SAM with ``sam_refine``) and build a predictor.

        ``config`` (default: the reference defaults) with ``model_version``,
        ``sam_refine`` and any other setting of :class:`RADSegConfig` overridden
        by keyword, e.g. ``from_pretrained("tiny-random", slide_crop=224, slide_stride=112)``.
        ``device``: ``"cuda"``, ``"cpu"``, ... (default: CUDA when available).
        """
        base = config if config is not None else RADSegConfig()
        cfg = base.replace(model_version=model_version, sam_refine=bool(sam_refine), **overrides)
        return cls.from_config(cfg, device=device)

    @classmethod
    def from_config(cls, config: RADSegConfig, device: DeviceLike = None) -> RADSegPredictor:
        """Validate ``config``, then load the models it names onto ``device``."""
        from .models import build_radio
        config.validate()
        device = resolve_device(device)
        if config.sam_refine:  # a missing or corrupt SAM checkpoint fails before RADIO is loaded
            from .models.sam import resolve_sam
            config = config.replace(sam_ckpt=resolve_sam(config.sam_ckpt, model_version=config.model_version))
        bundle = build_radio(config.model_version, config.lang_model, need_sam=config.sam_refine,
                             device=device, source=config.radio_source, revision=config.radio_revision,
                             repo_dir=config.radio_repo, allow_unpinned=config.allow_unpinned,
                             vitdet_window_size=config.vitdet_window_size)
        config.validate(patch_size=bundle.patch_size)
        from .models.versions import check_resolution_step  # ViTDet windows need coarser steps
        check_resolution_step(config.slide_crop, config.slide_stride, bundle, config.sam_refine)
        sam = None
        if config.sam_refine:
            from .models.sam import load_sam
            sam = load_sam(config.sam_ckpt, device=device)
        return cls.from_loaded(bundle, config, sam=sam, device=device)

    @classmethod
    def from_loaded(cls, bundle, config: RADSegConfig, sam=None, device: DeviceLike = None) -> RADSegPredictor:
        """A predictor with ``config``'s settings over models already loaded: ``bundle``
        (:func:`radseg.models.build_radio`) and, for RADSeg+, ``sam`` (:func:`radseg.models.sam.load_sam`).
        Nothing is loaded; ``radseg bench`` builds every case of a run this way from one bundle."""
        from .core.encoder import RADSegEncoder
        from .models.versions import check_resolution_step
        config.validate(patch_size=bundle.patch_size)
        check_resolution_step(config.slide_crop, config.slide_stride, bundle, config.sam_refine)
        encoder = RADSegEncoder.from_config(bundle, config)
        if device is not None:
            encoder = encoder.to(resolve_device(device))
        if config.sam_refine:
            if sam is None:
                raise ConfigError("sam_refine=True needs the SAM model (from_loaded(..., sam=load_sam(...))).")
            from .core.sam_refine import SAMRefiner
            encoder.sam_refiner = SAMRefiner.from_config(sam, config)
        return cls(encoder, config)

    def modules_for_count(self) -> Dict[str, torch.nn.Module]:
        """The named models whose parameters ``radseg bench --methods`` counts: ``radio`` (the backbone
        with SCRA), ``adaptors`` (the language and, for RADSeg+, ``sam`` adaptors) and, for RADSeg+,
        ``sam`` (SAM's neck, prompt encoder and mask decoder, or its ViT-H trunk on C-RADIOv4)."""
        out: Dict[str, torch.nn.Module] = {"radio": self.encoder.model}
        adaptors = [a for a in (getattr(self.encoder, "lang_adaptor", None),
                                getattr(self.encoder.bundle, "sam_adaptor", None)) if isinstance(a, torch.nn.Module)]
        if adaptors:
            out["adaptors"] = torch.nn.ModuleList(adaptors)
        refiner = self.encoder.sam_refiner
        if refiner is not None and isinstance(getattr(refiner, "sam", None), torch.nn.Module):
            out["sam"] = refiner.sam
        return out

    def update(self, **changes: Any) -> RADSegConfig:
        """Change settings of the loaded predictor without loading anything again: the
        encoder's live settings (windows, scalings, thresholds, fast mode, ...), the
        refiner's, and ``scale``. A setting that needs other weights (model_version,
        lang_model, sam_refine, sam_ckpt, radio_*, compile, ...) is a :class:`ConfigError`:
        build a new predictor for it. Returns the new config."""
        from .core.sam_refine import SAMRefiner
        live = set(self.encoder.LIVE_KEYS) | set(SAMRefiner.CONFIG_KEYS) | {"scale", "class_names"}
        config = self.config.replace(**changes)
        fixed = sorted(k for k in changes if k not in live and getattr(config, k) != getattr(self.config, k))
        if fixed:
            raise ConfigError(f"{', '.join(fixed)} cannot change on a loaded predictor; build a new one "
                              f"(RADSegPredictor.from_config).")
        config.validate(patch_size=self.encoder.patch_size)
        self.encoder.configure(config)
        if self.encoder.sam_refiner is not None:
            self.encoder.sam_refiner.configure(config)
        self.config = config
        return config

    @property
    def device(self) -> torch.device:
        return self.encoder.device

    @property
    def info(self) -> dict:
        """Where the weights came from: model version, source, revision."""
        return dict(getattr(self.encoder.bundle, "info", {}) or {})

    # -- classes -----------------------------------------------------------------------------
    def set_classes(self, classes: ClassesLike) -> List[List[str]]:
        """Set the class prompts (text embeddings are computed once per list and cached)."""
        parsed = parse_classes(classes)
        if parsed != self._classes:
            self.encoder.set_classes(parsed)
            self._classes = parsed
        return parsed

    @property
    def classes(self) -> Optional[List[str]]:
        return None if self._classes is None else [c[0] for c in self._classes]

    # -- prediction --------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, image: ImageLike, classes: Optional[ClassesLike] = None) -> Prediction:
        """Segment one image into ``classes`` (or those of the last call / :meth:`set_classes`).

        ``image``: a path, a PIL image, an ``H x W x 3`` uint8 array, or a ``3 x H x W``
        tensor (uint8 0..255, or float 0..1). Outputs are at the image's own size.
        """
        t0 = time.perf_counter()
        if classes is not None:
            self.set_classes(classes)
        elif self._classes is None:
            raise ConfigError("no classes: call predict(image, ['sky', 'dog', ...]).")
        rgb = load_rgb(image)
        x = network_input(rgb, self.config.scale).to(self.device)
        t1 = time.perf_counter()
        result = self.encoder.predict(x, ori_shape=rgb.shape[:2])
        if result.labels.is_cuda:
            torch.cuda.synchronize(result.labels.device)
        t2 = time.perf_counter()
        ms = {"preprocess": 1e3 * (t1 - t0), "segment": 1e3 * (t2 - t1), "total": 1e3 * (t2 - t0)}
        return Prediction(result.labels, result.probs, self.classes, rgb, ms)

    def predict_batch(self, images: Union[Sequence[ImageLike], torch.Tensor],
                      classes: Optional[ClassesLike] = None) -> List[Prediction]:
        """:meth:`predict` for each image (a list, or a ``B x 3 x H x W`` tensor); one
        result per image, identical to segmenting them one at a time."""
        if isinstance(images, torch.Tensor):
            if images.dim() != 4:
                raise ConfigError(f"a batch tensor must be B x 3 x H x W (got {tuple(images.shape)}).")
            images = list(images)
        if classes is not None:
            self.set_classes(classes)
        return [self.predict(im) for im in images]

    def predict_many(self, images, classes: Optional[ClassesLike] = None, batch_size: int = 1,
                     num_workers: int = 0):
        """Yield one :class:`Prediction` per image of ``images`` (any iterable of what
        :meth:`predict` takes), in order, identical to :meth:`predict` on each. Images are read
        and resized in ``num_workers`` background processes (a PyTorch ``DataLoader``); up to
        ``batch_size`` equal-size images share backbone calls. See :mod:`radseg.image_stream`."""
        if classes is not None:
            self.set_classes(classes)
        elif self._classes is None:
            raise ConfigError("no classes: call predict_many(images, ['sky', 'dog', ...]).")
        if isinstance(images, torch.Tensor):
            if images.dim() != 4:
                raise ConfigError(f"a batch tensor must be B x 3 x H x W (got {tuple(images.shape)}).")
            images = list(images)
        return self._raising(self.iter_predictions(list(images), batch_size, num_workers))

    @staticmethod
    def _raising(stream):
        from .errors import DatasetError
        for _, pred, error, _, _ in stream:
            if error is not None:
                raise DatasetError(error)
            yield pred

    def iter_predictions(self, images: Sequence, batch_size: int = 1, num_workers: int = 0,
                         indices: Optional[Sequence[int]] = None):
        """Like :meth:`predict_many` with the current classes, but an unreadable image does not
        raise: yields ``(index, Prediction or None, error or None, notes, (width, height) of the
        file)`` per image of ``images`` (or of ``indices``), in order. ``notes``: sentences about
        the image (downscaled, transparency). ``radseg segment`` over collections uses it."""
        from .image_stream import stream_results
        for d, r, seg_ms in stream_results(self, images, batch_size, num_workers, indices, read=load_rgb):
            if r is None:
                yield d.index, None, d.error, d.notes, d.size
                continue
            ms = {"preprocess": d.ms, "segment": seg_ms, "total": d.ms + seg_ms}
            yield d.index, Prediction(r.labels, r.probs, self.classes, d.rgb, ms), None, d.notes, d.size

    @torch.no_grad()
    def predict_normalized(self, img: torch.Tensor, ori_shape: Tuple[int, int],
                           image_path: Optional[str] = None) -> SegmentationResult:
        """The network input already resized and normalised (``1 x 3 x H x W``), as mmseg's
        data preprocessor gives it; outputs at ``ori_shape``. Returns the encoder's
        :class:`radseg.core.encoder.SegmentationResult`. ``image_path`` (the method protocol's
        original file) is not used by RADSeg."""
        return self.encoder.predict(img, ori_shape=ori_shape)


def resolve_device(name: DeviceLike = None) -> torch.device:
    """``None`` -> CUDA if available else CPU. A device this machine lacks (CUDA without a
    GPU, a GPU index past the last, MPS off a Mac) or an unknown name is a one-line
    :class:`RADSegError` (``--device`` in every command line goes through here)."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise RADSegError(f"--device '{name}' is not a device; use cpu or cuda (cuda:N).") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RADSegError(f"--device {name}: no CUDA GPU is available here; use --device cpu.")
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise RADSegError(f"--device {name}: this machine has {n} CUDA GPU(s) (cuda:0 to cuda:{n - 1}).")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RADSegError(f"--device {name}: Apple's MPS is not available here; use --device cpu.")
    elif dev.type != "cpu":
        raise RADSegError(f"--device {name}: use cpu or cuda (cuda:N).")
    return dev
