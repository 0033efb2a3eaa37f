"""``NaclipPredictor``: NACLIP behind the toolkit's :class:`~radseg.methods.registry.MethodPredictor`.

One image at a time, as the release (batch 1): ``predict_normalized`` takes the evaluation's input
(``1 x 3 x H x W``, RGB, CLIP mean/std in 0..255 units, already resized by the test pipeline) and
returns probabilities and labels at ``ori_shape``; ``predict`` does that pipeline itself (mmseg's
``Resize(scale, keep_ratio=True)``, the same normalisation) for any image.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...core.stage_timing import stage
from ...errors import ConfigError
from ..clip import LoadedClip, build_clip
from ..clip.text import query_embeddings
from .classes import ClassList, load_classes, queries
from .encoder import encode_window
from .logits import slide_logits, window_logits
from .pamr import pamr
from .postprocess import postprocess
from .settings import NaclipSettings


@dataclass
class NaclipResult:
    """One image: ``probs`` ``C x H0 x W0`` float32 (renormalised), ``labels`` ``H0 x W0`` int64,
    ``logits`` ``Q x H0 x W0`` (after PAMR, before the softmax; the compute dtype), ``dense``
    ``1 x Q x H x W`` (the window-averaged cosines at the network-input size)."""
    probs: torch.Tensor
    labels: torch.Tensor
    logits: torch.Tensor
    dense: torch.Tensor


class NaclipPredictor:
    """A configured NACLIP: CLIP with the neighbourhood-attention last block and its text embeddings."""

    def __init__(self, clip: LoadedClip, settings: NaclipSettings, classes: Optional[ClassList] = None):
        self.clip = clip
        self.settings = settings
        self._classes: Optional[ClassList] = None
        self._query_idx: List[int] = []
        self._text: Optional[torch.Tensor] = None
        self._text_cache: Dict[Tuple[Tuple[str, ...], ...], torch.Tensor] = {}
        #: optional stage timer (``radseg bench``): ``timer.stage(name)`` around each step; None: off
        self.timer = None
        if classes is None and settings.class_names:
            classes = load_classes(settings.class_names, file_only=True)
        if classes is not None:
            self.set_classes(classes)

    @classmethod
    def from_settings(cls, settings: NaclipSettings, device: Any = None) -> NaclipPredictor:
        """Validate ``settings`` and read its class file, then build CLIP (``model_version``,
        ``clip_weights``) on ``device``: a bad value or a missing class file fails before any load."""
        from ...predictor import resolve_device
        settings.validate()
        classes = load_classes(settings.class_names, file_only=True) if settings.class_names else None
        device = resolve_device(device)
        clip = build_clip(settings.model_version, settings.clip_weights, device=device,
                          precision=settings.resolved_precision(device))
        return cls(clip, settings, classes)

    # -- MethodPredictor -------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.clip.model.visual.conv1.weight.device

    @property
    def model_info(self) -> Dict[str, Any]:
        return dict(self.clip.info)

    info = model_info

    def modules_for_count(self) -> Dict[str, nn.Module]:
        """The modules whose parameters the method holds (``radseg bench``'s size column)."""
        return {"clip": self.clip.model}

    def to(self, device) -> NaclipPredictor:
        self.clip.model.to(device)
        self._text_cache = {k: v.to(device) for k, v in self._text_cache.items()}
        if self._text is not None:
            self._text = self._text.to(device)
        return self

    def set_classes(self, classes: Any) -> ClassList:
        """A class-file key/path, a labels string (``"sky, dog|puppy"``) or a list; text embeddings are
        computed once per list (``Q x E``, in the compute dtype) and kept in memory."""
        parsed = load_classes(classes)
        if parsed != self._classes:
            words, idx = queries(parsed)
            key = tuple(tuple(s) for s in parsed)
            if key not in self._text_cache:
                self._text_cache[key] = query_embeddings(self.clip.model, words, device=self.device)
            self._text, self._query_idx, self._classes = self._text_cache[key], idx, parsed
        return parsed

    @property
    def classes(self) -> Optional[List[str]]:
        return None if self._classes is None else [c[0] for c in self._classes]

    @property
    def query_idx(self) -> List[int]:
        return list(self._query_idx)

    @property
    def text_embeddings(self) -> Optional[torch.Tensor]:
        """``Q x E`` unit rows (one per synonym), or None before :meth:`set_classes`."""
        return self._text

    # -- the algorithm ---------------------------------------------------------------------------
    def window_logits(self, window: torch.Tensor) -> torch.Tensor:
        """``1 x 3 x Hc x Wc -> 1 x Q x Hc x Wc`` cosines (spec 3.2-3.3)."""
        s = self.settings
        feats, hp, wp = encode_window(self.clip.model.visual, window, s.gaussian_std, s.arch, s.attn_strategy)
        return window_logits(feats, self._text, hp, wp, window.shape[-2:])

    def dense_logits(self, img: torch.Tensor) -> torch.Tensor:
        """``1 x 3 x H x W -> 1 x Q x H x W``: sliding windows (``slide_crop > 0``) or the whole image."""
        s = self.settings
        if s.slide_crop > 0:
            return slide_logits(img, self.window_logits, s.slide_crop, s.slide_stride, len(self._query_idx))
        return self.window_logits(img)

    @torch.no_grad()
    def predict_normalized(self, img: torch.Tensor, ori_shape: Tuple[int, int],
                           image_path: Optional[str] = None) -> NaclipResult:
        """The evaluation's ``1 x 3 x H x W`` input -> :class:`NaclipResult` at ``ori_shape`` (spec 3.4-3.6)."""
        if self._text is None:
            raise ConfigError("no classes: set class_names or call set_classes(['sky', 'dog', ...]).")
        if img.dim() != 4 or img.shape[0] != 1 or img.shape[1] != 3:
            raise ConfigError(f"NACLIP takes one 1 x 3 x H x W image (got {tuple(img.shape)}).")
        s = self.settings
        img = img.to(self.device, torch.float32)
        size = (int(ori_shape[0]), int(ori_shape[1]))
        with stage(self.timer, "windows_clip"):
            dense = self.dense_logits(img)
        with stage(self.timer, "upsample"):
            logits = F.interpolate(dense, size=size, mode="bilinear", align_corners=False)
        if s.pamr_steps > 0:
            with stage(self.timer, "pamr"):
                guide = F.interpolate(img, size=size, mode="bilinear", align_corners=False)
                logits = pamr(guide, logits, s.pamr_steps, s.pamr_dilations).to(self.clip.dtype)  # fp16 on GPU
        with stage(self.timer, "postprocess"):
            probs, labels = postprocess(logits[0], self._query_idx, s.logit_scale, s.prob_thd)
        return NaclipResult(probs.float(), labels, logits[0], dense)

    @torch.no_grad()
    def predict(self, image: Any, classes: Any = None):
        """Segment one image (path, PIL, ``H x W x 3`` array, ``3 x H x W`` tensor) into ``classes``
        (or the current ones): a :class:`radseg.predictor.Prediction` at the image's size."""
        from ...predictor import Prediction, load_rgb
        from ...preprocess import network_input
        t0 = time.perf_counter()
        if classes is not None:
            self.set_classes(classes)
        elif self._classes is None:
            raise ConfigError("no classes: call predict(image, ['sky', 'dog', ...]).")
        rgb = load_rgb(image)
        x = network_input(rgb, self.settings.scale).to(self.device)
        t1 = time.perf_counter()
        r = self.predict_normalized(x, rgb.shape[:2])
        t2 = time.perf_counter()
        ms = {"preprocess": 1e3 * (t1 - t0), "segment": 1e3 * (t2 - t1), "total": 1e3 * (t2 - t0)}
        return Prediction(r.labels, r.probs, self.classes, rgb, ms)

