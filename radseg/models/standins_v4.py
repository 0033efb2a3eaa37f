"""Seeded random stand-ins shaped like C-RADIOv4 (docs/RADIO_V4.md), for offline tests.

Registered names (all with random weights; version family ``c-radio_v4``):

* ``tiny-random-v4``: width 32, depth 8, 2 heads (fast; the v4 *layout*, not its widths);
* ``tiny-random-v4-so400m``: width 1152, 16 heads (head dim 72), MLP 4304 -- the widths of
  C-RADIOv4-SO400M [secondary: third-party MLX port and timm def]; depth 2, not 27;
* ``tiny-random-v4-h``: width 1280, 16 heads (head dim 80), MLP 5120 -- C-RADIOv4-H's
  widths [secondary]; depth 2, not 32.

What they share with the real v4 (RADIO_V4.md sections 2-7): patch 16; 3 cls (summary)
tokens [secondary] + 7 register tokens [secondary] = ``num_summary_tokens`` 10 before the
patches; ``summary_idxs`` (0, 1) [secondary]; adaptors ``siglip2-g`` (language),
``dino_v3`` and ``sam3`` (generic, whose ``feat_mlp`` needs ``images=`` and ``patch_size=``)
and **no** ``sam`` / ``clip``; an unknown adaptor name raises ``ValueError`` listing the
known names, as RADIO's hubconf; ViTDet windowed attention with ``vitdet_window_size``
(``min_resolution_step`` = 16 x window size; blocks windowed with period ``depth // 4``,
the last block always global; summary/register tokens held out of windowed blocks); the
input conditioner's ``norm_mean``/``norm_std`` are **not CLIP's** (ImageNet's) on purpose,
because v4's are not determined and must be read from the model.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from .registry import declare_model_kind, register_model_source
from .standins import RadioOutput, RadioSurface, TinyLanguageAdaptor, _mlp
from .versions import VersionSpec, register_version_spec

V4_ADAPTORS = ("siglip2-g", "dino_v3", "sam3")
NUM_CLS, NUM_REGISTERS = 3, 7


class GenericAdaptorStandIn(nn.Module):
    """Like RADIO's ``GenericAdaptor`` with a v4 dense head: ``feat_mlp(x, images=, patch_size=)``."""

    def __init__(self, c_v: int, c_out: int):
        super().__init__()
        self.head_mlp = _mlp(c_v, c_out)
        self._feat = _mlp(c_v, c_out)

    def feat_mlp(self, x, images=None, patch_size=None):
        if images is None or patch_size is None:
            raise ValueError("feat_mlp of a v4 adaptor needs images= and patch_size= (RADIO_V4.md section 4)")
        return self._feat(x)


class V4InputConditioner(nn.Module):
    """RADIO's ``InputConditioner`` attribute names (``norm_mean``, ``norm_std``) with non-CLIP values."""

    def __init__(self):
        super().__init__()
        self.register_buffer("norm_mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("norm_std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.norm_mean) / self.norm_std


class TinyRADIOv4(RadioSurface):
    """The RADIOModel surface of a C-RADIOv4 checkpoint at a chosen width and depth."""

    def __init__(self, width: int = 32, depth: int = 8, heads: int = 2, mlp_ratio: float = 4.0,
                 adaptor_names: Sequence[str] = V4_ADAPTORS, c_t: int = 64, vitdet_window_size: Optional[int] = None):
        super().__init__()
        from timm.models.vision_transformer import VisionTransformer
        self.model = VisionTransformer(
            img_size=224, patch_size=16, embed_dim=width, depth=depth, num_heads=heads, mlp_ratio=mlp_ratio,
            class_token=True, reg_tokens=NUM_CLS - 1 + NUM_REGISTERS, dynamic_img_size=True, num_classes=0,
            global_pool="token")
        self.model.patch_generator = SimpleNamespace(num_cls_tokens=NUM_CLS, num_registers=NUM_REGISTERS,
                                                     num_skip=NUM_CLS + NUM_REGISTERS)
        self.patch_size = 16
        self.embed_dim = width
        self.num_cls_tokens = NUM_CLS
        self.num_summary_tokens = NUM_CLS + NUM_REGISTERS
        self.register_buffer("summary_idxs", torch.tensor([0, 1]), persistent=False)
        self.vitdet_window_size = vitdet_window_size
        self.input_conditioner = V4InputConditioner()
        known = {"siglip2-g": lambda: TinyLanguageAdaptor(width, c_t),
                 "dino_v3": lambda: GenericAdaptorStandIn(width, 24),
                 "sam3": lambda: GenericAdaptorStandIn(width, 24)}
        self.adaptors = nn.ModuleDict({n: known[n]() for n in adaptor_names})

    @property
    def min_resolution_step(self) -> int:
        return self.patch_size * (self.vitdet_window_size or 1)

    def windowed_blocks(self) -> List[int]:
        """Indices of the blocks that run windowed under ViTDet (RADIO_V4.md section 3)."""
        if not self.vitdet_window_size:
            return []
        depth = len(self.model.blocks)
        period = max(depth // 4, 1)
        return [i for i in range(depth - 1) if period > 1 and i % period != period - 1]

    def forward(self, x: torch.Tensor):
        s = self.min_resolution_step
        H, W = x.shape[-2:]
        if H % s or W % s:
            raise ValueError(f"The input resolution must be a multiple of `self.min_resolution_step`. "
                             f"Input: ({H}, {W}), Nearest: {self.get_nearest_supported_resolution(H, W)}")
        vit = self.model
        x = self.input_conditioner(x)
        t = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(x))))
        h, w = H // self.patch_size, W // self.patch_size
        windowed = set(self.windowed_blocks())
        P, ws = self.num_summary_tokens, self.vitdet_window_size
        for i, blk in enumerate(vit.blocks):
            if i in windowed:  # summary/register tokens held out; patches window-major
                prefix, p = t[:, :P], t[:, P:]
                B, N, C = p.shape
                p = p.reshape(B, h // ws, ws, w // ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, C)
                p = blk(p)
                p = p.reshape(B, h // ws, w // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(B, N, C)
                t = torch.cat([prefix, p], dim=1)
            else:
                t = blk(t)
        t = vit.norm(t)
        summary = t[:, :self.num_cls_tokens][:, self.summary_idxs].flatten(1)
        out = RadioOutput(summary, t[:, self.num_summary_tokens:])
        if self.adaptors:
            return {"backbone": out}
        return out


def build_tiny_radio_v4(adaptor_names: List[str], seed: int = 0, vitdet_window_size: Optional[int] = None,
                        **kwargs) -> TinyRADIOv4:
    """A seeded :class:`TinyRADIOv4`; unknown adaptor names raise ``ValueError`` as RADIO's hubconf."""
    unknown = [n for n in adaptor_names if n not in V4_ADAPTORS]
    if unknown:
        raise ValueError(f"Unable to find the specified adaptor name. Known names: {list(V4_ADAPTORS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TinyRADIOv4(vitdet_window_size=vitdet_window_size, **kwargs)
    model.adaptors = nn.ModuleDict({n: model.adaptors[n] for n in adaptor_names})
    return model


_SHAPES = {
    "tiny-random-v4": dict(width=32, depth=8, heads=2),
    "tiny-random-v4-so400m": dict(width=1152, depth=2, heads=16, mlp_ratio=4304 / 1152),
    "tiny-random-v4-h": dict(width=1280, depth=2, heads=16, mlp_ratio=4.0),
}


def _register(name: str, shape: dict) -> None:
    def factory(request):
        return (build_tiny_radio_v4(list(request.adaptor_names), seed=0,
                                    vitdet_window_size=request.vitdet_window_size, **shape),
                {"source": "stand-in", "revision": "seed0"})
    register_model_source(name, factory)
    declare_model_kind(name, "stand-in", True, "tiny-random-sam", "C-RADIOv4-shaped stand-in, seeded random")
    register_version_spec(name, VersionSpec("c-radio_v4", "siglip2-g", V4_ADAPTORS, True, None,
                                            "random stand-in shaped like C-RADIOv4"))


for _name, _shape in _SHAPES.items():
    _register(_name, _shape)

# ``tiny-random`` imitates C-RADIOv3 (siglip2 + sam adaptors, no ViTDet).
register_version_spec("tiny-random", VersionSpec("c-radio_v3", "siglip2", ("siglip2", "sam", "clip"), False, None,
                                                 "random stand-in shaped like C-RADIOv3 (tiny widths)"))
