"""The RADSeg encoder: chains the steps of ALGORITHM.md sections 2 to 6.

Usable on its own::

    enc = RADSegEncoder.from_pretrained("c-radio_v3-b", device="cuda")
    enc.set_classes(["sky", "grass", "sheep"])
    result = enc.predict(img)          # img: 1 x 3 x H x W, normalised (CLIP stats, 0..255 units)
    result.probs   # K x H0 x W0 denoised probabilities
    result.labels  # H0 x W0 int64 label map
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import RADSegConfig
from ..config import RADSegConfig as _D  # the one place defaults live
from ..errors import ConfigError
from . import stage_timing
from .dense_logits import (
    cosine_probabilities,
    denoise_prompts,
    max_over_synonyms,
    predict_labels,
    project_tokens,
    upsample,
)
from .scga import scga
from .scra import apply_scra, remove_scra
from .sliding_windows import sliding_window_features
from .text_embeddings import TextEmbedder, flatten_synonyms

logger = logging.getLogger(__name__)



@contextlib.contextmanager
def _fast_math(enabled: bool):
    """TF32 matmuls and convolutions on CUDA for the duration (fast mode); restored afterwards."""
    if not enabled:
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def window_bytes(encoder, crop: int) -> int:
    """Rough peak activation bytes of one ``crop x crop`` window in the backbone (fp32 worst case).

    Per window: tokens ``N = (crop/p)^2 + 16`` (prefix tokens, generous), width ``C``,
    heads ``h``: SCRA's explicit ``h x N x N`` attention and similarity (about 4 live
    copies), the MLP's ``N x 4C`` hidden and a few ``N x C`` tensors, doubled for headroom.
    """
    vit = encoder.bundle.vit
    c = int(getattr(vit, "embed_dim", 768))
    heads = int(getattr(vit.blocks[-1].attn, "num_heads", 12)) if len(vit.blocks) else 12
    n = (crop // encoder.patch_size) ** 2 + 16
    return 2 * 4 * (4 * heads * n * n + 4 * n * c + 8 * n * c)


def auto_window_cap(encoder, img: torch.Tensor, crop: int, fraction: float = 0.5) -> Optional[int]:
    """``max_windows_per_batch="auto"``: windows per backbone call from free GPU memory.

    ``None`` (all windows at once) on the CPU, when the crop is off, or when all windows fit
    in ``fraction`` of the free memory (``torch.cuda.mem_get_info``); else the number that fits
    (at least 1). Cityscapes high (72 windows of 336 px) needs about 9 GB this way.
    """
    if crop <= 0 or not img.is_cuda:
        return None
    free, _ = torch.cuda.mem_get_info(img.device)
    per = window_bytes(encoder, crop)
    return max(1, int(free * fraction // per))


@dataclass
class SegmentationResult:
    """``probs``: ``K x H0 x W0`` float32 (after denoising / refinement); ``labels``: ``H0 x W0`` int64."""
    probs: torch.Tensor
    labels: torch.Tensor


ClassList = Sequence[Union[str, Sequence[str]]]


class RADSegEncoder(nn.Module):
    """RADIO + SCRA + sliding windows + SCGA + text alignment (+ optional SAM refinement).

    Args:
        bundle: a :class:`radseg.models.RadioBundle`.
        scra_scaling, scga_scaling: ``s_ra`` and ``s_ga``.
        slide_crop, slide_stride: window size and step in pixels (``crop <= 0``: one pass).
        prompt_denoising_thresh: classes whose max probability is below it are zeroed.
        use_scra, use_scga: ablation switches (on in the reference).
        amp: fp16 autocast for the backbone (CUDA only; off in the reference).
        compile: ``torch.compile`` the backbone (off in the reference).
        max_windows_per_batch: memory cap on windows per backbone call (``None``: all at once;
            ``"auto"``: chosen from free GPU memory, see :func:`auto_window_cap`; all at once on CPU).
        fast: fast mode (off = the reference's fp32): bf16 autocast for the backbone (CUDA or
            CPU), TF32 matmuls on CUDA, fused attention (SDPA) in SCRA's first attention, and
            (with a :class:`radseg.sam_refine.SAMRefiner`) a bf16 SAM decoder batched over classes.
        text_disk_cache: keep text embeddings on disk as well as in memory.
        sam_refiner: callable ``(encoder, image, pred, probs) -> (pred, probs)`` (RADSeg+).
    """

    def __init__(self, bundle, *, scra_scaling: float = _D.scra_scaling, scga_scaling: float = _D.scga_scaling,
                 slide_crop: int = _D.slide_crop, slide_stride: int = _D.slide_stride,
                 prompt_denoising_thresh: float = _D.prompt_denoising_thresh,
                 use_scra: bool = _D.use_scra, use_scga: bool = _D.use_scga, amp: bool = _D.amp,
                 compile: bool = _D.compile, max_windows_per_batch: Optional[int] = _D.max_windows_per_batch,
                 text_disk_cache: bool = _D.text_disk_cache, sam_refiner=None, fast: bool = _D.fast):
        super().__init__()
        self.bundle = bundle
        self.model = bundle.model
        self.lang_adaptor = bundle.lang_adaptor
        self.sam_adaptor = bundle.sam_adaptor
        self.patch_size = bundle.patch_size
        self.amp, self.compile = bool(amp), bool(compile)
        self.sam_refiner = sam_refiner
        #: optional stage timer (``timer.stage(name)`` -> context manager), set by ``radseg bench``;
        #: ``None``: a shared no-op context, nothing else happens.
        self.timer = None
        self.configure(_D(scra_scaling=scra_scaling, scga_scaling=scga_scaling, slide_crop=slide_crop,
                          slide_stride=slide_stride, prompt_denoising_thresh=prompt_denoising_thresh,
                          use_scra=use_scra, use_scga=use_scga, max_windows_per_batch=max_windows_per_batch,
                          fast=fast))
        self.text_embedder = TextEmbedder(bundle.lang_adaptor, bundle.model_id(), disk_cache=text_disk_cache)
        self._forward = torch.compile(self.model) if self.compile else self.model
        self.classes = None
        self._queries = None
        self._text = None
        self._owner = None

    #: the encoder's settings among :class:`radseg.config.RADSegConfig`'s fields
    CONFIG_KEYS = ("scra_scaling", "scga_scaling", "slide_crop", "slide_stride", "prompt_denoising_thresh",
                   "use_scra", "use_scga", "amp", "compile", "max_windows_per_batch", "text_disk_cache",
                   "fast")

    #: what :meth:`configure` changes on a built encoder (the rest needs a new one)
    LIVE_KEYS = ("scra_scaling", "scga_scaling", "slide_crop", "slide_stride", "prompt_denoising_thresh",
                 "use_scra", "use_scga", "max_windows_per_batch", "fast")

    def configure(self, config: RADSegConfig) -> None:
        """Apply ``config``'s :attr:`LIVE_KEYS`. Only the windows are checked here (against
        this model's patch size); entry points validate the whole config first
        (:meth:`RADSegConfig.validate`)."""
        crop, stride, p = int(config.slide_crop), int(config.slide_stride), self.patch_size
        if crop > 0 and (stride <= 0 or crop % p or stride % p or stride > crop):
            raise ConfigError(
                f"slide_crop={crop}, slide_stride={stride}: both must be positive multiples "
                f"of the patch size ({p}) with stride <= crop (reference: 336/224, 224/112; "
                f"slide_crop <= 0 runs the whole image in one pass).")
        self.scra_scaling, self.scga_scaling = float(config.scra_scaling), float(config.scga_scaling)
        self.slide_crop, self.slide_stride = int(config.slide_crop), int(config.slide_stride)
        self.prompt_denoising_thresh = float(config.prompt_denoising_thresh)
        self.use_scga = bool(config.use_scga)
        self.max_windows_per_batch = config.max_windows_per_batch
        self.fast = bool(config.fast)
        if config.use_scra:
            apply_scra(self.bundle.vit, self.scra_scaling).fast = self.fast
        else:
            remove_scra(self.bundle.vit)

    @classmethod
    def from_config(cls, bundle, config: RADSegConfig) -> RADSegEncoder:
        """Wrap a loaded bundle with the settings of ``config`` (a :class:`RADSegConfig`)."""
        return cls(bundle, **{k: getattr(config, k) for k in cls.CONFIG_KEYS})

    @classmethod
    def from_pretrained(cls, model_version: str = _D.model_version, lang_model: str = _D.lang_model, *,
                        device="cpu", need_sam: bool = False, source=None, revision=None,
                        repo_dir=None, **kwargs) -> RADSegEncoder:
        """Load the backbone (see :func:`radseg.models.build_radio`) and wrap it."""
        from ..models import build_radio
        bundle = build_radio(model_version, lang_model, need_sam=need_sam, device=device,
                             source=source, revision=revision, repo_dir=repo_dir)
        return cls(bundle, **kwargs).to(device)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # -- text -------------------------------------------------------------------------
    def set_classes(self, classes: ClassList) -> None:
        """Set the class prompts: names, or lists of synonyms per class."""
        classes = [[c] if isinstance(c, str) else list(c) for c in classes]
        queries, owner = flatten_synonyms(classes)
        self.classes = classes
        self._queries = queries
        self._owner = owner
        self._text = None  # embedded lazily, on the device of the first image

    def set_text_embeddings(self, text: torch.Tensor) -> None:
        """Use ``text`` (``Q x C_t``: one row per prompt of the current classes, synonyms
        flattened) instead of the language adaptor's embeddings, until the next
        :meth:`set_classes`. For synthetic prompts (``radseg bench``'s workload) and for giving
        two encoders the same prompts (the bench's PyTorch and ONNX Runtime rows)."""
        if self.classes is None:
            raise ValueError("no classes set: call set_classes([...]) first")
        if text.ndim != 2 or text.shape[0] != len(self._queries):
            raise ValueError(f"text embeddings of shape {tuple(text.shape)} for {len(self._queries)} prompts; "
                             f"expected ({len(self._queries)}, C_t)")
        self._text = text.to(self.device)

    def text_embeddings(self) -> torch.Tensor:
        """``Q x C_t`` prompt embeddings for the current classes (cached)."""
        if self.classes is None:
            raise ValueError("no classes set: call set_classes([...]) or pass classes=")
        if self._text is None or self._text.device != self.device:
            self._text = self.text_embedder(self._queries, device=self.device)
        return self._text

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    # -- image ------------------------------------------------------------------------
    def backbone_features(self, x: torch.Tensor) -> torch.Tensor:
        """``n x 3 x s x s`` -> patch features ``n x C_v x s/p x s/p`` (float32)."""
        p = self.patch_size
        h, w = x.shape[-2:]
        if self.fast:  # bf16, RADIO's recommended inference precision
            ctx = torch.autocast(x.device.type, dtype=torch.bfloat16)
        elif self.amp and x.is_cuda:
            ctx = torch.autocast("cuda", dtype=torch.float16)
        else:
            ctx = contextlib.nullcontext()
        with ctx:
            out = self._forward(x)
        feats = out.features if hasattr(out, "features") else out[1]
        return feats.float().transpose(1, 2).reshape(x.shape[0], -1, h // p, w // p)

    def feature_map(self, img: torch.Tensor) -> torch.Tensor:
        """Stitched sliding-window map ``1 x C_v x h/p x w/p`` of one normalised image."""
        if self.slide_crop <= 0:
            h, w = img.shape[-2:]
            if h % self.patch_size or w % self.patch_size:
                nh, nw = self.model.get_nearest_supported_resolution(h, w)
                img = F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)
        cap = self.max_windows_per_batch
        if cap == "auto":
            cap = auto_window_cap(self, img, self.slide_crop)
        return sliding_window_features(self.backbone_features, img, self.slide_crop, self.slide_stride,
                                       self.patch_size, cap)

    def _stage(self, name: str):
        """The timer's context for stage ``name`` (``radseg bench``), or a shared no-op."""
        return stage_timing.stage(self.timer, name)

    def coarse_probabilities(self, img: torch.Tensor, ori_shape: Tuple[int, int],
                             feats: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Denoised class probabilities ``K x H0 x W0`` (sections 2-6, before argmax).

        ``feats``: the image's stitched feature map if already computed (:meth:`predict_batch`).
        """
        if feats is None:
            with self._stage("windows_backbone"):
                feats = self.feature_map(img)
        with self._stage("scga"):
            if self.use_scga:
                feats = scga(feats, self.scga_scaling)
        with self._stage("project_cosine"):
            proj = project_tokens(feats, self.lang_adaptor.head_mlp)
            prob = cosine_probabilities(proj, self.text_embeddings())
        with self._stage("upsample"):
            prob = upsample(prob, ori_shape)
            prob = max_over_synonyms(prob, self._owner, self.num_classes)
            return denoise_prompts(prob, self.prompt_denoising_thresh)[0]

    @torch.no_grad()
    def predict(self, img: torch.Tensor, ori_shape: Optional[Tuple[int, int]] = None,
                classes: Optional[ClassList] = None) -> SegmentationResult:
        """Segment one image.

        Args:
            img: ``1 x 3 x H x W`` (or ``3 x H x W``) normalised network input.
            ori_shape: ``(H0, W0)`` the outputs are produced at (default: ``(H, W)``).
            classes: optional new class prompts (else those of :meth:`set_classes`).
        """
        if classes is not None:
            self.set_classes(classes)
        if img.dim() == 3:
            img = img[None]
        img = img.to(self.device, torch.float32)
        ori_shape = tuple(int(s) for s in (ori_shape or img.shape[-2:]))
        with _fast_math(self.fast and img.is_cuda):
            return self._finish(img, ori_shape, self.coarse_probabilities(img, ori_shape))

    def _finish(self, img, ori_shape, probs) -> SegmentationResult:
        labels = predict_labels(probs[None])[0]
        if self.sam_refiner is not None:
            labels, probs = self.sam_refiner(self, img, labels, probs)
        return SegmentationResult(probs=probs, labels=labels)

    @torch.no_grad()
    def predict_batch(self, imgs, ori_shapes: Optional[Sequence[Tuple[int, int]]] = None,
                      classes: Optional[ClassList] = None) -> List[SegmentationResult]:
        """Segment several images; the windows of equal-size images share backbone calls.

        Args:
            imgs: a ``B x 3 x H x W`` tensor or a list of ``1 x 3 x H x W`` / ``3 x H x W`` tensors
                (sizes may differ; images of one size are grouped).
            ori_shapes: ``(H0, W0)`` per image (default: each image's own size).
        Everything after the backbone (stitching, SCGA with its image-wide mean, the rest)
        runs per image, so each result equals :meth:`predict` on that image as long as the
        backbone's kernels do not depend on the batch size: bit-identical on the CPU
        (tested); on CUDA see docs/BENCHMARKS.md ("Batching across images").
        """
        if classes is not None:
            self.set_classes(classes)
        imgs = [i[None] if i.dim() == 3 else i for i in (list(imgs.split(1)) if torch.is_tensor(imgs) else imgs)]
        imgs = [i.to(self.device, torch.float32) for i in imgs]
        shapes = [tuple(int(s) for s in (ori_shapes[k] if ori_shapes else imgs[k].shape[-2:]))
                  for k in range(len(imgs))]
        groups = {}
        for k, im in enumerate(imgs):
            groups.setdefault(tuple(im.shape[-2:]), []).append(k)
        out: List[Optional[SegmentationResult]] = [None] * len(imgs)
        with _fast_math(self.fast and self.device.type == "cuda"):
            for idx in groups.values():
                with self._stage("windows_backbone"):
                    feats = self.feature_map(torch.cat([imgs[k] for k in idx]))
                for j, k in enumerate(idx):
                    probs = self.coarse_probabilities(imgs[k], shapes[k], feats=feats[j:j + 1])
                    out[k] = self._finish(imgs[k], shapes[k], probs)
        return out

    forward = predict
