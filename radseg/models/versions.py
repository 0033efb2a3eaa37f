"""What differs between RADIO versions, in one table, and what is read from a loaded model.

docs/RADIO_V4.md: C-RADIOv4 (``c-radio_v4-so400m``, ``c-radio_v4-h``) has the adaptors
``siglip2-g``, ``dino_v3`` and ``sam3`` (no ``sam``, no ``clip``), supports ViTDet
windowed attention, and has 3 summary + 7 register tokens [secondary]. Everything
that lives in a checkpoint (widths, token counts, patch size, input statistics) is
**read from the loaded model** by :func:`model_facts`, never taken from this table;
an attribute the model lacks fails with a message naming it.

* :func:`default_lang_model` / :func:`resolve_lang_model`: the language adaptor per
  version (``siglip2`` on v3 and RADIOv2.5 as the reference, ``siglip2-g`` on v4). ``None``
  means "the version's own"; ``siglip2`` (the reference's default, which v4 does not
  list) is taken as ``siglip2-g`` on v4, with a notice.
* :func:`wants_sam_adaptor`: request RADIO's ``sam`` adaptor only for RADSeg+ and only
  on versions that have one; otherwise RADSeg+ runs SAM ViT-H's own image encoder
  (:mod:`radseg.core.sam_trunk`, RADIO_V4.md section 8.1).
* :func:`min_resolution_step`: patch size x ViTDet window size (windows, strides and
  the SAM pass must be multiples of it).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn

from ..errors import ConfigError, UnknownModelError

logger = logging.getLogger(__name__)

#: CLIP statistics on 0..1 RGB (RADIO's default input conditioner).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

#: how the SAM image embedding of RADSeg+ is made (written into bundle.info / records).
SAM_VIA_ADAPTOR = "radio_sam_adaptor"
SAM_VIA_TRUNK = "sam_vit_h_image_encoder"


@dataclass(frozen=True)
class VersionSpec:
    """Facts of a RADIO version that the code of NVlabs/RADIO states (not checkpoint facts)."""
    family: str                   # "radio_v2.5" | "c-radio_v3" | "c-radio_v4"
    lang_model: str               # default language adaptor
    adaptors: Tuple[str, ...]     # adaptor names RADIO's README lists for the family
    supports_vitdet: bool
    hf_repo: Optional[str] = None
    verified: str = ""            # what this toolkit has checked on the real weights


_V3_ADAPTORS = ("clip", "siglip2", "siglip2-g", "dino_v2", "sam")
_V4_ADAPTORS = ("siglip2-g", "dino_v3", "sam3")
_V4_NOTE = ("loader, adaptor names, SCRA attribute names and shapes checked on v4-shaped stand-ins only; "
            "the real weights have not been run here, no benchmark numbers")

VERSIONS: Dict[str, VersionSpec] = {
    **{f"c-radio_v3-{s}": VersionSpec("c-radio_v3", "siglip2", _V3_ADAPTORS, False,
                                      f"nvidia/C-RADIOv3-{s.upper() if s != 'g' else 'g'}")
       for s in ("b", "l", "h", "g")},
    **{f"radio_v2.5-{s}": VersionSpec("radio_v2.5", "siglip2", ("clip", "siglip", "siglip2", "dino_v2", "sam"),
                                      False, f"nvidia/RADIO-{s.upper() if s != 'g' else 'g'}")
       for s in ("b", "l", "h", "g")},
    "c-radio_v4-so400m": VersionSpec("c-radio_v4", "siglip2-g", _V4_ADAPTORS, True, "nvidia/C-RADIOv4-SO400M",
                                     _V4_NOTE),
    "c-radio_v4-h": VersionSpec("c-radio_v4", "siglip2-g", _V4_ADAPTORS, True, "nvidia/C-RADIOv4-H", _V4_NOTE),
}
V4_VERSIONS = tuple(k for k, v in VERSIONS.items() if v.family == "c-radio_v4")
#: specs of registered stand-ins (they declare the version family they imitate)
_STANDIN_SPECS: Dict[str, VersionSpec] = {}


def register_version_spec(name: str, spec: VersionSpec) -> None:
    """Declare the version family a registered model source imitates (stand-ins, plugins)."""
    _STANDIN_SPECS[name] = spec


def version_spec(model_version: Optional[str]) -> Optional[VersionSpec]:
    """The spec of a version name (aliases resolved), a registered stand-in, or a
    checkpoint path whose file name starts with a version (``.../c-radio_v4-h_half.pth.tar``)."""
    if not model_version:
        return None
    from .registry import canonical_name
    name = canonical_name(str(model_version))
    if name in VERSIONS:
        return VERSIONS[name]
    if name in _STANDIN_SPECS:
        return _STANDIN_SPECS[name]
    import os
    base = os.path.basename(name)
    for v in sorted(VERSIONS, key=len, reverse=True):
        if base.startswith(v):
            return VERSIONS[v]
    return None


#: NVlabs/RADIO commit the hub source uses for C-RADIOv4 when no --radio_revision is given: the
#: default pin (811a7dc, 2026-01-01) predates v4 (ecca467, 2026-01-27) and v4's ViTDet support
#: (071eea9, 2026-02-09); c0f3701 (2026-05-29) is the newest revision read for docs/RADIO_V4.md.
V4_HUB_REVISION = "c0f37017930e9dda53f93424cf4bf39fc51f287e"


def default_hub_revision(model_version: Optional[str]) -> Optional[str]:
    """The pinned NVlabs/RADIO commit a version needs (``None``: the toolkit's default pin)."""
    return V4_HUB_REVISION if is_v4(model_version) else None


def is_v4(model_version: Optional[str]) -> bool:
    spec = version_spec(model_version)
    return spec is not None and spec.family == "c-radio_v4"


def default_lang_model(model_version: Optional[str]) -> str:
    """The language adaptor a version uses by default (``siglip2``; ``siglip2-g`` on v4)."""
    spec = version_spec(model_version)
    return spec.lang_model if spec else "siglip2"


def resolve_lang_model(model_version: Optional[str], lang_model: Optional[str]) -> str:
    """The adaptor name to request: ``None`` -> the version's default; ``siglip2`` on a
    version that does not list it (C-RADIOv4) -> that version's default, with a notice."""
    if lang_model is None or str(lang_model).strip() in ("", "default"):
        return default_lang_model(model_version)
    spec = version_spec(model_version)
    if spec is not None and lang_model == "siglip2" and "siglip2" not in spec.adaptors:
        logger.warning("note: %s has no 'siglip2' adaptor (its adaptors: %s); using '%s'.", model_version,
                       ", ".join(spec.adaptors), spec.lang_model)
        return spec.lang_model
    return str(lang_model)


def wants_sam_adaptor(model_version: Optional[str], need_sam: bool) -> bool:
    """Request RADIO's ``sam`` adaptor? Only for RADSeg+, and not on versions without one."""
    if not need_sam:
        return False
    spec = version_spec(model_version)
    return spec is None or "sam" in spec.adaptors


def check_vitdet(model_version: Optional[str], vitdet_window_size) -> Optional[int]:
    """Validate ``vitdet_window_size`` (``None``: off). Only versions that support ViTDet take it."""
    if vitdet_window_size is None:
        return None
    if isinstance(vitdet_window_size, bool) or not isinstance(vitdet_window_size, int) or vitdet_window_size < 1:
        raise ConfigError(f"vitdet_window_size must be a positive whole number of patches or None "
                          f"(got {vitdet_window_size!r}).")
    spec = version_spec(model_version)
    if spec is not None and not spec.supports_vitdet:
        raise ConfigError(f"vitdet_window_size is supported only by C-RADIOv4 ({', '.join(V4_VERSIONS)}), not by "
                          f"'{model_version}'; remove it.")
    return int(vitdet_window_size)


# ----------------------------------------------------------------------------- read from the model
def _attr(obj, path: str, what: str):
    cur = obj
    for part in path.split("."):
        if not hasattr(cur, part):
            raise UnknownModelError(f"the loaded RADIO model has no attribute '{path}' ({what}); this toolkit "
                                    f"reads it from the model and cannot go on without it. Is it a RADIO model "
                                    f"(NVlabs/RADIO RADIOModel) or a stand-in with the same attributes?")
        cur = getattr(cur, part)
    return cur


def min_resolution_step(model) -> int:
    """``model.min_resolution_step`` (patch size x ViTDet window size), else the patch size."""
    step = getattr(model, "min_resolution_step", None)
    if step is None:
        step = _attr(model, "patch_size", "patch size")
    return int(step)


def model_facts(model) -> Dict[str, Any]:
    """Widths, token counts and sizes of a loaded RADIO model (RADIO_V4.md section 2).

    Required: ``patch_size``, ``model.embed_dim``, ``model.blocks[-1].attn.num_heads``,
    ``num_summary_tokens``; optional (``None`` when absent): ``num_cls_tokens``,
    ``model.patch_generator.num_registers``, ``summary_idxs``, ``min_resolution_step``.
    """
    vit = _attr(model, "model", "the timm VisionTransformer")
    blocks = _attr(vit, "blocks", "the transformer blocks")
    facts = {
        "patch_size": int(_attr(model, "patch_size", "patch size")),
        "embed_dim": int(_attr(vit, "embed_dim", "backbone width")),
        "depth": len(blocks),
        "num_heads": int(_attr(blocks[-1], "attn.num_heads", "heads of the last block")),
        "num_summary_tokens": int(_attr(model, "num_summary_tokens", "tokens before the patch tokens")),
        "num_cls_tokens": getattr(model, "num_cls_tokens", None),
        "num_registers": getattr(getattr(vit, "patch_generator", None), "num_registers", None),
        "summary_idxs": None,
        "min_resolution_step": min_resolution_step(model),
    }
    idx = getattr(model, "summary_idxs", None)
    if idx is not None:
        facts["summary_idxs"] = [int(i) for i in (idx.tolist() if torch.is_tensor(idx) else idx)]
    if facts["num_cls_tokens"] is not None:
        facts["num_cls_tokens"] = int(facts["num_cls_tokens"])
    if facts["num_registers"] is not None:
        facts["num_registers"] = int(facts["num_registers"])
    return facts


def conditioner_stats(cond) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
    """``(mean, std)`` of a RADIO input conditioner (``norm_mean``/``norm_std``, or
    ``mean``/``std`` on stand-ins), or ``None``."""
    if cond is None:
        return None
    for m, s in (("norm_mean", "norm_std"), ("mean", "std")):
        if torch.is_tensor(getattr(cond, m, None)) and torch.is_tensor(getattr(cond, s, None)):
            return getattr(cond, m).detach().float().reshape(-1), getattr(cond, s).detach().float().reshape(-1)
    return None


class ClipToModelConditioner(nn.Module):
    """Maps CLIP-normalised input (what the toolkit's pipelines produce) to the model's own
    normalisation: ``((x * clip_std + clip_mean) - mean) / std``. Installed only when the
    checkpoint's statistics are not CLIP's (RADIO_V4.md section 7: not determined for v4)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("clip_mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1))
        self.register_buffer("clip_std", torch.tensor(CLIP_STD).view(1, 3, 1, 1))
        self.register_buffer("mean", mean.reshape(1, 3, 1, 1).clone())
        self.register_buffer("std", std.reshape(1, 3, 1, 1).clone())

    def forward(self, x):
        return ((x * self.clip_std + self.clip_mean) - self.mean) / self.std


def adapt_input_conditioner(model, cond) -> Optional[dict]:
    """After ``make_preprocessor_external()`` returned ``cond``: if its statistics are not
    CLIP's, install a :class:`ClipToModelConditioner` as ``model.input_conditioner`` so the
    CLIP-normalised input of every pipeline reaches the model normalised its own way.
    Returns the statistics read (for the record), or ``None`` when none were found."""
    stats = conditioner_stats(cond)
    if stats is None:
        return None
    mean, std = stats
    out = {"input_mean": [round(float(v), 6) for v in mean[:3]], "input_std": [round(float(v), 6) for v in std[:3]]}
    if mean.numel() >= 3 and std.numel() >= 3 and not (
            torch.allclose(mean[:3], torch.tensor(CLIP_MEAN), atol=1e-5)
            and torch.allclose(std[:3], torch.tensor(CLIP_STD), atol=1e-5)):
        if hasattr(model, "input_conditioner"):
            model.input_conditioner = ClipToModelConditioner(mean[:3], std[:3]).to(mean.device)
            out["input_conditioner"] = "model statistics (not CLIP)"
    return out


def check_resolution_step(slide_crop: int, slide_stride: int, bundle, sam_refine: bool = False) -> int:
    """Windows and strides must be multiples of the model's minimum resolution step (patch size x
    ViTDet window size); RADSeg+ through RADIO's ``sam`` adaptor runs RADIO at 1024 x 16k px, which
    only a step of one patch fits. Raises :class:`ConfigError`; returns the step."""
    step = min_resolution_step(bundle.model)
    if slide_crop > 0 and (slide_crop % step or slide_stride % step):
        raise ConfigError(f"slide_crop={slide_crop} and slide_stride={slide_stride} must be multiples of the model's "
                          f"minimum resolution step {step} (patch size x ViTDet window size); e.g. "
                          f"{3 * step}/{step}, or turn vitdet_window_size off.")
    if sam_refine and getattr(bundle, "sam_adaptor", None) is not None and step != bundle.patch_size:
        raise ConfigError(f"RADSeg+ through RADIO's 'sam' adaptor runs RADIO at 1024 x 16k px, which is not a "
                          f"multiple of the minimum resolution step {step}: turn vitdet_window_size off.")
    return step
