"""``RADSegConfig``: every setting of a configured RADSeg, with its one default.

The segmentor, the command lines, the sweep and the result records all read
their defaults and meanings from here (ALGORITHM.md section 8), and the
per-benchmark presets from :mod:`radseg.presets`::

    cfg = RADSegConfig.preset("voc20", "mid_res", sam_refine=True)
    cfg.validate()            # one clear ConfigError per bad value
    rec = cfg.to_dict()       # JSON-ready, for result records
    RADSegConfig.from_dict(rec) == cfg

No torch / mmseg imports: cheap, and usable before anything loads.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Tuple

from .errors import ConfigError
from .presets import DEFAULT_COARSE_THRESH, get_dataset


def _setting(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class RADSegConfig:
    """A configured RADSeg (RADSeg+ with ``sam_refine=True``). Units are pixels unless stated."""

    # -- backbone and text --------------------------------------------------------------------
    model_version: str = _setting("c-radio_v3-b", "RADIO version (see `radseg models`)")
    lang_model: Optional[str] = _setting(None, "RADIO language adaptor for the text embeddings; None: the "
                                               "version's own (siglip2 on C-RADIOv3, siglip2-g on v4)")
    radio_source: Optional[str] = _setting(None, "where RADIO comes from: hub (pinned), local or hf; "
                                                 "None: the version's default")
    radio_revision: Optional[str] = _setting(None, "git revision of the RADIO source (None: the pinned one)")
    radio_repo: Optional[str] = _setting(None, "local NVlabs/RADIO clone for air-gapped use")
    allow_unpinned: bool = _setting(False, "allow an unpinned Hugging Face revision (recorded)")
    vitdet_window_size: Optional[int] = _setting(None, "ViTDet windowed attention, in patches (C-RADIOv4 only; "
                                                       "None: global attention)")
    # -- the algorithm (ALGORITHM.md sections 2-6) ------------------------------------------------
    scra_scaling: float = _setting(10.0, "SCRA temperature s_ra (> 0)")
    scga_scaling: float = _setting(10.0, "SCGA temperature s_ga (> 0)")
    use_scra: bool = _setting(True, "self-correlating recursive attention in the last block")
    use_scga: bool = _setting(True, "self-correlating global aggregation")
    slide_crop: int = _setting(336, "sliding-window size; 0 runs the whole image in one pass")
    slide_stride: int = _setting(224, "sliding-window step (<= slide_crop)")
    prompt_denoising_thresh: float = _setting(0.5, "classes whose max probability is below it are dropped "
                                                   "(0..1)")
    scale: Optional[Tuple[int, int]] = _setting((2048, 448), "test-pipeline resize (long_max, short) with "
                                                              "keep_ratio, as mmseg's Resize; None: no resize",
                                                 cli=False)
    class_names: Optional[str] = _setting(None, "class-name file or built-in list (a preset sets the "
                                                "dataset's)", cli=False)
    # -- RADSeg+ (section 7) --------------------------------------------------------------------
    sam_refine: bool = _setting(False, "RADSeg+: refine the prediction with SAM")
    sam_ckpt: Optional[str] = _setting(None, "SAM ViT-H checkpoint path or registered SAM source "
                                             "(None: look up sam_vit_h_4b8939.pth)")
    coarse_thresh: float = _setting(DEFAULT_COARSE_THRESH, "uncertain-pixel and class-gate threshold (0..1, "
                                                           "per dataset)")
    minimal_area: int = _setting(225, "smallest prompted component, half-resolution pixels")
    sam_mask_coff: float = _setting(0.005, "scale of SAM's dense mask prompt")
    sam_iou_thresh: float = _setting(0.9, "keep a SAM mask iff its predicted IoU is strictly greater (0..1)")
    batched_mask_prompt: bool = _setting(False, "hand SAM a batched mask prompt (corrected; off = reference)")
    # -- execution (no effect on the numbers) -------------------------------------------------------
    amp: bool = _setting(False, "fp16 autocast for the backbone (CUDA only; changes the numbers)")
    compile: bool = _setting(False, "torch.compile the backbone")
    fast: bool = _setting(False, "fast mode: bf16 backbone and SAM decoder, TF32, fused attention (changes the "
                                 "numbers; agreement in docs/BENCHMARKS.md)")
    max_windows_per_batch: Optional[Any] = _setting(None, "cap on windows per backbone call (None: all; 'auto': "
                                                          "from free GPU memory)")
    text_disk_cache: bool = _setting(True, "keep text embeddings on disk as well as in memory", cli=False)

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def preset(cls, dataset: str, resolution: str = "mid_res", **overrides: Any) -> RADSegConfig:
        """The paper's settings for ``dataset`` at ``resolution`` (``low_res|mid_res|high_res``)."""
        facts = get_dataset(dataset)
        p = facts.preset(resolution)
        values = dict(scale=tuple(p.scale), slide_crop=p.slide_crop, slide_stride=p.slide_stride,
                      coarse_thresh=facts.coarse_thresh, class_names=facts.class_names)
        values.update(overrides)
        return cls.from_dict(values)

    @classmethod
    def field_names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def defaults(cls) -> Dict[str, Any]:
        """``{name: default}`` of every setting."""
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def help(cls, name: str) -> str:
        """The one-line meaning of setting ``name``."""
        return {f.name: f.metadata["help"] for f in fields(cls)}[name]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, ignore_unknown: bool = False) -> RADSegConfig:
        """Build from a mapping (e.g. a result record's ``config``); unknown keys are an error."""
        known = set(cls.field_names())
        unknown = sorted(set(values) - known)
        if unknown and not ignore_unknown:
            raise ConfigError(f"unknown RADSeg setting(s) {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        kw = {k: v for k, v in values.items() if k in known}
        if kw.get("scale") is not None:
            kw["scale"] = tuple(kw["scale"])
        return cls(**kw)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready ``{name: value}`` (``scale`` as a list)."""
        d = dataclasses.asdict(self)
        if d["scale"] is not None:
            d["scale"] = list(d["scale"])
        return d

    def replace(self, **changes: Any) -> RADSegConfig:
        return self.from_dict({**self.to_dict(), **changes})

    # -- validation ---------------------------------------------------------------------------------
    def validate(self, patch_size: Optional[int] = None) -> RADSegConfig:
        """Check every value; the first bad one raises :class:`ConfigError` with the fix.

        ``patch_size`` (known once the model is loaded) also checks that the windows
        are multiples of it. Returns ``self``.
        """
        for name in ("scra_scaling", "scga_scaling", "sam_mask_coff"):
            v = _number(self, name)
            if not v > 0:
                raise ConfigError(f"{name} must be positive (got {v}); the reference uses "
                                  f"{self.defaults()[name]}.")
        for name in ("prompt_denoising_thresh", "coarse_thresh", "sam_iou_thresh"):
            v = _number(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1 (got {v}); the reference uses "
                                  f"{self.defaults()[name] if name != 'coarse_thresh' else 'a per-dataset value'}.")
        crop, stride = _integer(self, "slide_crop"), _integer(self, "slide_stride")
        if crop < 0:
            raise ConfigError(f"slide_crop must be >= 0 (got {crop}); 0 runs the whole image in one pass, "
                              f"the reference uses 336 or 224.")
        if crop > 0:
            if stride <= 0 or stride > crop:
                raise ConfigError(f"slide_stride must be between 1 and slide_crop={crop} (got {stride}); "
                                  f"the reference uses 336/224 and 224/112.")
            if patch_size and (crop % patch_size or stride % patch_size):
                raise ConfigError(f"slide_crop={crop} and slide_stride={stride} must be multiples of the "
                                  f"model's patch size ({patch_size}).")
        if _integer(self, "minimal_area") < 0:
            raise ConfigError(f"minimal_area must be >= 0 (got {self.minimal_area}); the reference uses 225.")
        if (self.max_windows_per_batch is not None and self.max_windows_per_batch != "auto"
                and _integer(self, "max_windows_per_batch") < 1):
            raise ConfigError(f"max_windows_per_batch must be >= 1, 'auto' or None (got {self.max_windows_per_batch}).")
        if self.vitdet_window_size is not None and _integer(self, "vitdet_window_size") < 1:
            raise ConfigError(f"vitdet_window_size must be >= 1 or None (got {self.vitdet_window_size}).")
        if self.scale is not None:
            if (len(self.scale) != 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                                and s > 0 for s in self.scale)):
                raise ConfigError(f"scale must be two positive integers (long_max, short) or None "
                                  f"(got {self.scale}).")
        for name in ("model_version", "lang_model"):
            if name == "lang_model" and self.lang_model is None:
                continue
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must be a non-empty name (got {getattr(self, name)!r}).")
        for name in ("use_scra", "use_scga", "sam_refine", "batched_mask_prompt", "amp", "compile", "fast",
                      "text_disk_cache", "allow_unpinned"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False (got {getattr(self, name)!r}).")
        return self


def _number(cfg: RADSegConfig, name: str) -> float:
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ConfigError(f"{name} must be a finite number (got {v!r}).")
    return float(v)


def _integer(cfg: RADSegConfig, name: str) -> int:
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise ConfigError(f"{name} must be a whole number (got {v!r}).")
    return int(v)
