"""``TridentSettings``: Trident's settings, its release defaults and per-benchmark configs.

Source: docs/baselines/TRIDENT.md (release YuHengsss/Trident @ a93b346), section 3 (the
``configs/cfg_*.py`` table) and section 4 (published mIoU). Field names follow
:class:`radseg.config.RADSegConfig` where they mean the same thing (``model_version``,
``scale``, ``slide_crop``, ``slide_stride``, ``class_names``, ``prob_thd``, ``coarse_thresh``,
``minimal_area``, ``sam_mask_coff``, ``sam_iou_thresh``, ``sam_refine``). No torch import.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Optional, Tuple

from ...errors import ConfigError
from ..settings import MethodSettings, setting

#: weight kinds of ``model_version``: the real CLIP name, its full-size random replica, the tiny stand-in
REAL_MODELS = ("ViT-B/16",)
MODEL_VERSIONS = REAL_MODELS + tuple(f"{m}-random" for m in REAL_MODELS) + ("tiny-random",)
DINO_MODELS = ("dino_vitb16",)
SAM_MODEL_TYPES = ("vit_b",)
#: the release runs fp16 on CUDA (T11); only fp32 is implemented here (docs/BASELINES.md)
PRECISIONS = ("fp32",)


def _cfg(scale, stride, prob_thd, coarse, cos_fac=1.2, neg_cos=True, class_names=None, halves=False):
    """One row of TRIDENT.md section 3 (everything else: the release defaults)."""
    return dict(scale=scale, slide_stride=stride, prob_thd=prob_thd, coarse_thresh=coarse, cos_fac=cos_fac,
                refine_neg_cos=neg_cos, class_names=class_names, sam_halves=halves)


@dataclass(frozen=True)
class TridentSettings(MethodSettings):
    """Every Trident setting, with the release's default (``configs/base_config.py``, ``trident.py``)."""

    METHOD: ClassVar[str] = "trident"
    TUPLE_FIELDS: ClassVar[Tuple[str, ...]] = ("scale",)
    #: TRIDENT.md section 3, every config it lists (``cfg_<name>.py``), by the toolkit's dataset keys
    PRESETS: ClassVar[Dict[str, Dict[str, Any]]] = {
        "voc21": _cfg((2048, 448), 224, 0.2, 0.2, class_names="trident/voc21"),
        "context60": _cfg((2048, 576), 224, 0.15, 0.15, class_names="trident/context60"),
        "coco_object": _cfg((2048, 448), 224, 0.25, 0.25, class_names="trident/coco_object"),
        "voc20": _cfg((2048, 336), 112, 0.0, 0.2, cos_fac=0.0, class_names="trident/voc20"),
        "context59": _cfg((2048, 576), 224, 0.0, 0.15, class_names="trident/context59"),
        "coco_stuff164k": _cfg((2048, 448), 224, 0.0, 0.05, class_names="trident/coco_stuff164k"),
        "cityscapes": _cfg((2048, 688), 224, 0.0, 0.10, cos_fac=3.0, neg_cos=False,
                           class_names="trident/cityscapes", halves=True),
        "ade20k": _cfg((2048, 576), 224, 0.0, 0.05, neg_cos=False, class_names="trident/ade20k"),
        "pc459": _cfg((2048, 448), 224, 0.0, 0.2, class_names="trident/pc459"),  # cfg_context459 (not in eval_all)
        "ade847": _cfg((2048, 448), 224, 0.0, 0.2, class_names="trident/ade847"),  # cfg_ade847 (not in eval_all)
    }
    #: README results image (TRIDENT.md section 4), mIoU %, headline row "CLIP ViT-B/16" (the defaults)
    PUBLISHED: ClassVar[Dict[str, float]] = {
        "voc21": 67.1, "context60": 38.6, "coco_object": 41.1, "voc20": 84.5, "context59": 42.2,
        "coco_stuff164k": 28.3, "cityscapes": 42.9, "ade20k": 21.9}
    #: the same table per CLIP backbone ("OpenCLIP ViT-H/14": no shipped config, not runnable here)
    PUBLISHED_BY_BACKBONE: ClassVar[Dict[str, Dict[str, float]]] = {
        "ViT-B/16": dict(PUBLISHED),
        "ViT-H-14": {"voc21": 70.8, "context60": 40.1, "coco_object": 42.2, "voc20": 88.7, "context59": 44.3,
                     "coco_stuff164k": 28.6, "cityscapes": 47.6, "ade20k": 26.7}}
    PUBLISHED_AVERAGE: ClassVar[Dict[str, float]] = {"ViT-B/16": 45.8, "ViT-H-14": 48.6}

    model_version: str = setting("ViT-B/16", "CLIP (OpenAI ViT-B/16, open_clip 'openai'); '<name>-random': full-size "
                                 "random replicas of CLIP, DINO and SAM; 'tiny-random': the seeded tiny stand-ins")
    dino_model: str = setting("dino_vitb16", "DINO backbone (facebookresearch/dino torch.hub name)")
    sam_model_type: str = setting("vit_b", "SAM image encoder (segment_anything registry name)")
    clip_weights: Optional[str] = setting(None, "OpenAI CLIP state dict / .pt file (None: open_clip's download)")
    dino_weights: Optional[str] = setting(None, "DINO .pth (None: torch.hub's cached dino_vitbase16_pretrain.pth)")
    sam_weights: Optional[str] = setting(None, "SAM checkpoint (None: sam_vit_b_01ec64.pth, looked up like RADSeg's)")
    scale: Optional[Tuple[int, int]] = setting((2048, 448), "test-pipeline Resize (long_max, short), keep_ratio; "
                                               "None: no resize")
    slide_crop: int = setting(336, "window size of the CLIP/DINO crops, pixels (a multiple of 16)")
    slide_stride: int = setting(224, "window step, pixels (a multiple of 16)")
    class_names: Optional[str] = setting(None, "class-name file (one class per line, '; ' between queries) or "
                                         "built-in key ('trident/voc21')")
    beta: float = setting(1.2, "DINO affinity offset: S' = (S - beta * mean(S)) * gamma")
    gamma: float = setting(3.0, "DINO affinity temperature")
    logit_scale: float = setting(40.0, "softmax temperature over the queries")
    cos_fac: float = setting(1.2, "SAM affinity threshold factor (per query, times the mean cosine)")
    refine_neg_cos: bool = setting(True, "keep negative SAM thresholds (False: a negative threshold becomes 0.6)")
    prob_thd: float = setting(0.0, "label 0 where the merged max probability is below it")
    sam_halves: bool = setting(False, "SAM features from the left and right image halves (Cityscapes)")
    sam_refine: bool = setting(True, "SAM mask refinement (on in every published run)")
    coarse_thresh: float = setting(0.2, "refinement: uncertain-pixel and class-gate threshold")
    minimal_area: int = setting(225, "refinement: smallest prompted component, half-resolution pixels")
    sam_mask_coff: float = setting(0.005, "refinement: scale of SAM's dense mask prompt")
    sam_iou_thresh: float = setting(0.80, "refinement: keep a SAM mask iff its predicted IoU is strictly greater")
    precision: str = setting("fp32", "compute precision; the release's fp16 (CLIP, DINO, SAM encoder; T11) is not "
                             "implemented")

    @classmethod
    def radseg_protocol(cls, dataset: str, resolution: str = "mid_res", **overrides: Any) -> TridentSettings:
        """Trident under RADSeg's preset for ``dataset``/``resolution`` (``--protocol radseg``).

        RADSeg's resize, crop, stride, class prompts and coarse threshold (radseg/presets.py);
        every other value Trident's default.
        """
        from ...presets import get_dataset
        facts = get_dataset(dataset)
        p = facts.preset(resolution)
        values = dict(scale=tuple(p.scale), slide_crop=p.slide_crop, slide_stride=p.slide_stride,
                      class_names=facts.class_names, coarse_thresh=facts.coarse_thresh,
                      sam_halves=facts.dataset_type == "CityscapesDataset")
        values.update(overrides)
        return cls.from_dict(values)

    def validate(self) -> TridentSettings:
        """Check every value; the first bad one raises :class:`ConfigError` with the fix. Returns ``self``."""
        for name in ("model_version", "dino_model", "sam_model_type", "precision"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"trident: {name} must be a non-empty name (got {getattr(self, name)!r}).")
        if self.model_version not in MODEL_VERSIONS:
            raise ConfigError(f"trident: unknown model_version '{self.model_version}'; use one of "
                              f"{', '.join(MODEL_VERSIONS)}.")
        for name, known in (("dino_model", DINO_MODELS), ("sam_model_type", SAM_MODEL_TYPES),
                            ("precision", PRECISIONS)):
            if getattr(self, name) not in known:
                raise ConfigError(f"trident: {name} must be one of {', '.join(known)} (got {getattr(self, name)!r}).")
        for name in ("beta", "gamma", "logit_scale", "sam_mask_coff"):
            if not _number(self, name) > 0:
                raise ConfigError(f"trident: {name} must be positive (got {getattr(self, name)}); the release "
                                  f"uses {self.defaults()[name]}.")
        _number(self, "cos_fac")
        for name in ("prob_thd", "coarse_thresh", "sam_iou_thresh"):
            if not 0.0 <= _number(self, name) <= 1.0:
                raise ConfigError(f"trident: {name} must be between 0 and 1 (got {getattr(self, name)}).")
        crop, stride = _integer(self, "slide_crop"), _integer(self, "slide_stride")
        if crop <= 0 or crop % 16 or stride <= 0 or stride % 16 or stride > crop:
            raise ConfigError(f"trident: slide_crop={crop} and slide_stride={stride} must be positive multiples of "
                              f"16 (CLIP's patch) with stride <= crop (T13); the release uses 336 and 224 or 112.")
        if _integer(self, "minimal_area") < 0:
            raise ConfigError(f"trident: minimal_area must be >= 0 (got {self.minimal_area}); the release uses 225.")
        if self.scale is not None and (len(self.scale) != 2 or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in self.scale)):
            raise ConfigError(f"trident: scale must be two positive integers (long_max, short) or None "
                              f"(got {self.scale}).")
        for name in ("refine_neg_cos", "sam_halves", "sam_refine"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"trident: {name} must be True or False (got {getattr(self, name)!r}).")
        for name in ("clip_weights", "dino_weights", "sam_weights", "class_names"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, str) or not v.strip()):
                raise ConfigError(f"trident: {name} must be a path / name or None (got {v!r}).")
        return self


def _number(s: TridentSettings, name: str) -> float:
    v = getattr(s, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ConfigError(f"trident: {name} must be a finite number (got {v!r}).")
    return float(v)


def _integer(s: TridentSettings, name: str) -> int:
    v = getattr(s, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ConfigError(f"trident: {name} must be a whole number (got {v!r}).")
    return int(v)
