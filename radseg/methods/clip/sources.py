"""``build_clip(name, weights, device)``: the CLIP models the baselines' releases load.

Names (the releases' spellings; open_clip's ``ViT-B-16`` style is accepted too):

* ``ViT-B/16``: OpenAI's weights (NACLIP's ``clip.load('ViT-B/16')``, Trident's
  ``open_clip.create_model('ViT-B/16', pretrained='openai')``), **QuickGELU** (open_clip's
  plain ``ViT-B-16`` config uses ``nn.GELU``: wrong for these weights; we build
  ``ViT-B-16-quickgelu``). 149,620,737 parameters, 302 tensors.
* ``ViT-L/14``: OpenAI's (named for reference by TRIDENT.md), QuickGELU, 427,616,513 parameters.
* ``ViT-H-14``: OpenCLIP ``laion2b_s32b_b79k`` (Trident's commented-out row), standard GELU,
  986,109,441 parameters.
* ``<name>-random``: the same architecture with seeded random weights (exact shapes and counts).
* ``tiny-random``: a tiny seeded stand-in with the same attributes (patch 16, 224 input so 14x14+1
  positions, width 128 = 2 heads of 64 on both towers, 2 layers each, embed 64, the real tokenizer's
  vocabulary); builds in well under a second.

Weights: ``weights=None`` looks in the release's cache (``~/.cache/clip/<file>``), then asks
open_clip for its pinned tag (a download); a local file (``--weights clip=PATH``) in OpenAI's
``.pt`` layout or as a state dict is loaded by :mod:`.state_dict`. Offline without the file: one
:class:`ConfigError` line naming the file and its URL.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn

from ...errors import ConfigError
from .precision import compute_dtype, to_release_precision
from .state_dict import load_clip_weights, read_clip_state_dict


@dataclass(frozen=True)
class ClipArch:
    """One CLIP of the releases: open_clip config name, pinned weight tag, the official file."""
    name: str
    open_clip_config: str
    pretrained: str
    filename: str
    url: str
    parameters: int
    patch_size: int


CLIP_ARCHS: Dict[str, ClipArch] = {a.name: a for a in (
    ClipArch("ViT-B/16", "ViT-B-16-quickgelu", "openai", "ViT-B-16.pt",
             "https://openaipublic.azureedge.net/clip/models/"
             "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt", 149_620_737, 16),
    ClipArch("ViT-L/14", "ViT-L-14-quickgelu", "openai", "ViT-L-14.pt",
             "https://openaipublic.azureedge.net/clip/models/"
             "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt", 427_616_513, 14),
    ClipArch("ViT-H-14", "ViT-H-14", "laion2b_s32b_b79k", "open_clip_pytorch_model.bin",
             "https://huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K (open_clip_pytorch_model.bin)",
             986_109_441, 14),
)}
_ALIASES = {"ViT-B-16": "ViT-B/16", "ViT-L-14": "ViT-L/14", "ViT-H/14": "ViT-H-14"}

TINY = "tiny-random"
#: the tiny stand-in's architecture (open_clip ``CLIP`` keyword arguments)
TINY_CONFIG: Dict[str, Any] = dict(
    embed_dim=64, quick_gelu=True,
    vision_cfg=dict(image_size=224, patch_size=16, width=128, layers=2, head_width=64),
    text_cfg=dict(context_length=77, vocab_size=49408, width=128, heads=2, layers=2))
RANDOM_SEED = 0


@dataclass
class LoadedClip:
    """A built CLIP: ``model`` (open_clip ``CLIP``, eval mode), its release ``name`` and where the
    weights came from (``info``, for the record)."""
    model: nn.Module
    name: str
    info: Dict[str, Any] = field(default_factory=dict)

    @property
    def patch_size(self) -> int:
        return int(self.model.visual.conv1.kernel_size[0])

    @property
    def dtype(self) -> torch.dtype:
        return compute_dtype(self.model)


def clip_names() -> Tuple[str, ...]:
    """Every name :func:`build_clip` accepts (release names, their random replicas, the stand-in)."""
    return tuple(CLIP_ARCHS) + tuple(f"{n}-random" for n in CLIP_ARCHS) + (TINY,)


def resolve_name(name: str) -> Tuple[Optional[ClipArch], bool]:
    """``name`` -> ``(arch, random)``; ``(None, True)`` for ``tiny-random``; unknown: ConfigError."""
    n = str(name).strip()
    if n == TINY:
        return None, True
    random = n.endswith("-random")
    base = n[: -len("-random")] if random else n
    base = _ALIASES.get(base, base)
    if base not in CLIP_ARCHS:
        raise ConfigError(f"unknown CLIP model '{name}'. Known: {', '.join(clip_names())}.")
    return CLIP_ARCHS[base], random


def _architecture(arch: Optional[ClipArch]) -> nn.Module:
    import open_clip
    if arch is None:
        return open_clip.CLIP(**TINY_CONFIG)
    cfg = open_clip.get_model_config(arch.open_clip_config)
    return open_clip.CLIP(**cfg)


def random_clip(arch: Optional[ClipArch], seed: int = RANDOM_SEED) -> nn.Module:
    """The architecture with open_clip's initialisation under ``torch.manual_seed(seed)`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _architecture(arch)


def release_cache_path(arch: ClipArch) -> Path:
    """Where the releases' loader caches the file (``clip.load``: ``~/.cache/clip``)."""
    return Path(os.path.expanduser("~/.cache/clip")) / arch.filename


def _where(arch: ClipArch) -> str:
    return f"Get {arch.filename} from {arch.url} and pass --weights clip=PATH."


def _official_state(arch: ClipArch) -> Tuple[Dict[str, torch.Tensor], str]:
    cached = release_cache_path(arch)
    if cached.is_file():
        return read_clip_state_dict(cached, _where(arch)), str(cached)
    try:
        import open_clip
        model = open_clip.create_model(arch.open_clip_config, pretrained=arch.pretrained)
    except Exception as e:  # offline, or the hub refused
        raise ConfigError(f"CLIP {arch.name} weights not found ({cached} is missing and open_clip could not "
                          f"fetch '{arch.pretrained}': {type(e).__name__}). {_where(arch)}") from None
    return model.state_dict(), f"open_clip:{arch.open_clip_config}:{arch.pretrained}"


def build_clip(name: str = "ViT-B/16", weights: Optional[str] = None, device: Any = "cpu",
               precision: str = "fp32", seed: int = RANDOM_SEED) -> LoadedClip:
    """Build CLIP ``name`` with ``weights`` (a local file, or None: the official weights) on ``device``.

    ``precision``: ``fp32`` (the releases on CPU) or ``fp16`` (the releases on CUDA; see
    :mod:`.precision`). Random names ignore ``weights`` being None and use ``seed``.
    """
    arch, random = resolve_name(name)
    if random and weights is None:
        model = random_clip(arch, seed)
        info = {"clip": name, "clip_weights": f"random (seed {seed})", "random_weights": True}
    else:  # the weights first: a missing file fails before anything is allocated
        if weights is not None:
            where = _where(arch) if arch is not None else ""
            state, source = read_clip_state_dict(weights, where), str(Path(weights).expanduser())
        else:
            state, source = _official_state(arch)
        model = _architecture(arch) if arch is not None else random_clip(None, seed)
        load_clip_weights(model, state, source)
        info = {"clip": name, "clip_weights": source, "random_weights": False}
    model = to_release_precision(model.eval().requires_grad_(False), precision).to(device)
    info["precision"] = precision
    return LoadedClip(model, name, info)
