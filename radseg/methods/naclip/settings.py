"""``NaclipSettings``: NACLIP's settings, its release defaults and per-benchmark presets.

Source: docs/baselines/NACLIP.md sections 3-5 (``configs/base_config.py``, ``configs/cfg_*.py``,
the ``NACLIP`` constructor, ``eval.py --pamr on``). No torch import.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Optional, Tuple

from ...errors import ConfigError
from ..settings import MethodSettings, setting

#: the release's Resize scale (every benchmark but Cityscapes), crop and stride
_SCALE = (2048, 336)
ARCHS = ("reduced", "vanilla")
ATTN_STRATEGIES = ("naclip", "kk", "vanilla")
PRECISIONS = ("auto", "fp32", "fp16")


def _own(class_file: str, **kw: Any) -> Dict[str, Any]:
    return {"class_names": f"naclip/{class_file}", "scale": _SCALE, "slide_crop": 224, "slide_stride": 112,
            "prob_thd": 0.0, **kw}


@dataclass
class NaclipSettings(MethodSettings):
    """Every NACLIP setting with the release's default (section 4's common row)."""

    METHOD: ClassVar[str] = "naclip"
    TUPLE_FIELDS: ClassVar[Tuple[str, ...]] = ("scale", "pamr_dilations")
    #: section 4: the release's configs/cfg_<benchmark>.py (class files under radseg/class_names/naclip/)
    PRESETS: ClassVar[Dict[str, Dict[str, Any]]] = {
        "voc21": _own("voc21", slide_crop=0, prob_thd=0.1),
        "context60": _own("context60", prob_thd=0.1),
        "coco_object": _own("coco_object", prob_thd=0.1),
        "voc20": _own("voc20", slide_crop=0),
        "cityscapes": _own("cityscapes", scale=(2048, 560)),
        "context59": _own("context59"),
        "ade20k": _own("ade20k"),
        "coco_stuff164k": _own("coco_stuff164k"),
    }
    #: section 5: the README's "default setup" mIoU (PAMR on), the release's own protocol
    PUBLISHED: ClassVar[Dict[str, float]] = {
        "voc21": 64.07, "context60": 34.99, "coco_object": 36.19, "voc20": 83.03, "cityscapes": 38.27,
        "context59": 38.35, "ade20k": 19.05, "coco_stuff164k": 25.69}

    model_version: str = setting("ViT-B/16", "CLIP backbone: ViT-B/16 (OpenAI), '<name>-random', 'tiny-random'")
    clip_weights: Optional[str] = setting(None, "CLIP checkpoint in OpenAI's .pt layout (None: ~/.cache/clip or "
                                                "open_clip's 'openai' download)")
    precision: str = setting("auto", "auto (the release: fp16 on CUDA, fp32 on CPU), fp32 or fp16")
    arch: str = setting("reduced", "last block: reduced (no residuals, no FFN) or vanilla (the ablation)")
    attn_strategy: str = setting("naclip", "last-block attention: naclip (k.k + Gaussian), kk, vanilla (q.k)")
    gaussian_std: float = setting(5.0, "sigma of the neighbourhood Gaussian, in tokens (> 0)")
    logit_scale: float = setting(40.0, "softmax temperature on the cosines (the release's constant, not CLIP's)")
    scale: Optional[Tuple[int, int]] = setting(_SCALE, "test-pipeline resize (long_max, short), keep_ratio; None: "
                                                       "no resize")
    slide_crop: int = setting(224, "sliding-window size; 0 runs the whole image in one pass")
    slide_stride: int = setting(112, "sliding-window step (<= slide_crop)")
    class_names: Optional[str] = setting(None, "class-name file or built-in key (a preset sets naclip/<dataset>)")
    prob_thd: float = setting(0.0, "pixels whose pooled max probability is below it become class 0 (0..1)")
    pamr_steps: int = setting(10, "PAMR iterations on the logits (0: off; the published numbers: 10)")
    pamr_dilations: Tuple[int, ...] = setting((8, 16), "PAMR neighbourhood dilations")

    @classmethod
    def radseg_protocol(cls, dataset: str, resolution: str = "mid_res", **overrides: Any) -> NaclipSettings:
        """NACLIP under RADSeg's preset for ``dataset`` at ``resolution``: RADSeg's scale, crop, stride and
        class prompts (radseg/presets.py); everything else NACLIP's defaults (``prob_thd`` 0, PAMR on)."""
        from ...presets import get_dataset
        facts = get_dataset(dataset)
        p = facts.preset(resolution)
        values = dict(scale=tuple(p.scale), slide_crop=p.slide_crop, slide_stride=p.slide_stride,
                      class_names=facts.class_names)
        values.update(overrides)
        return cls.from_dict(values)

    def resolved_precision(self, device: Any) -> str:
        """``auto`` -> fp16 on CUDA, fp32 elsewhere (the release's ``clip.load``)."""
        if self.precision != "auto":
            return self.precision
        return "fp16" if str(device).startswith("cuda") else "fp32"

    def validate(self) -> NaclipSettings:
        """Check every value; the first bad one is a :class:`ConfigError` naming the fix. Returns ``self``."""
        for name, choices in (("precision", PRECISIONS), ("arch", ARCHS), ("attn_strategy", ATTN_STRATEGIES)):
            if getattr(self, name) not in choices:
                raise ConfigError(f"naclip {name} must be one of {', '.join(choices)} (got {getattr(self, name)!r}).")
        if not isinstance(self.model_version, str) or not self.model_version.strip():
            raise ConfigError(f"naclip model_version must be a CLIP name such as ViT-B/16 "
                              f"(got {self.model_version!r}).")
        for name in ("gaussian_std", "logit_scale"):
            if not _number(self, name) > 0:
                raise ConfigError(f"naclip {name} must be positive (got {getattr(self, name)}); the release uses "
                                  f"{self.defaults()[name]}.")
        if not 0.0 <= _number(self, "prob_thd") <= 1.0:
            raise ConfigError(f"naclip prob_thd must be between 0 and 1 (got {self.prob_thd}).")
        crop, stride = _integer(self, "slide_crop"), _integer(self, "slide_stride")
        if crop < 0:
            raise ConfigError(f"naclip slide_crop must be >= 0 (got {crop}); 0 runs the whole image, the release "
                              f"uses 224 (VOC: 0).")
        if crop > 0 and not 0 < stride <= crop:
            raise ConfigError(f"naclip slide_stride must be between 1 and slide_crop={crop} (got {stride}); the "
                              f"release uses 112.")
        if _integer(self, "pamr_steps") < 0:
            raise ConfigError(f"naclip pamr_steps must be >= 0 (got {self.pamr_steps}); 0 turns PAMR off.")
        if self.pamr_steps and (not self.pamr_dilations or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in self.pamr_dilations)):
            raise ConfigError(f"naclip pamr_dilations must be positive whole numbers (got {self.pamr_dilations}); "
                              f"the release uses (8, 16).")
        if self.scale is not None and (len(self.scale) != 2 or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in self.scale)):
            raise ConfigError(f"naclip scale must be two positive integers (long_max, short) or None "
                              f"(got {self.scale}).")
        return self


def _number(s: NaclipSettings, name: str) -> float:
    v = getattr(s, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ConfigError(f"naclip {name} must be a finite number (got {v!r}).")
    return float(v)


def _integer(s: NaclipSettings, name: str) -> int:
    v = getattr(s, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ConfigError(f"naclip {name} must be a whole number (got {v!r}).")
    return int(v)
