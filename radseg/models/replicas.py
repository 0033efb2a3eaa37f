"""Full-size random replicas of C-RADIOv3-B and SAM ViT-H's prompt side, for benchmarking.

Registered names (built lazily: nothing is constructed at import):

* ``c-radio_v3-b-random``: the C-RADIOv3-B architecture (RADIO_API.md) with seeded
  random weights: a timm ``VisionTransformer`` trunk, ViT-B/16 (12 blocks, width 768,
  12 heads, MLP ratio 4, qkv bias), 8 prefix tokens (4 summary + 4 registers) before the
  patch tokens, RADIO's *cropped position embedding* (CPE) for inputs up to 2048 px, and
  the ``siglip2`` (``head_mlp`` 768 -> 1152, ``feat_mlp`` 768 -> 1152, tokenizer, a small
  text tower) and ``sam`` (``feat_mlp`` 768 -> 1280) adaptors as RADIO's two-layer
  ``MLP2`` heads with hidden width 1520. Backbone: 98.23M parameters (RADIO_API.md:
  "about 98M"); with the two adaptors the image path has about 104M (RADIO_API.md: 105M).
* ``sam-vit-h-random`` (SAM source): segment-anything's ViT-H neck (1280 -> 256),
  prompt encoder and mask decoder at their real sizes, seeded random init, no trunk
  (:func:`radseg.models.sam.build_sam_parts`).
* ``c-radio_v3-b-random-small`` / ``sam-vit-h-random-small``: the same code at stand-in
  sizes (width 64, depth 2; the tiny SAM), for ``radseg bench --small`` on a CPU.

Position embedding: RADIO's CPE, eval branch, is reproduced (not timm's
``dynamic_img_size``, which resamples the whole grid bicubically to every input): a
``128 x 128`` grid (2048 px / 16) is resized bilinearly (``align_corners=True``) to
``max(rows, cols)`` squared and the top-left ``rows x cols`` window is added to the patch
tokens before the prefix tokens are prepended. Cost per forward: one small interpolation
of ``768 x 128 x 128`` (negligible next to 12 blocks), as in RADIO.

Patch embedding: RADIO's ``Im2Patches`` + ``ViTPatchLinear`` (a bias-free ``Linear`` of
the flattened 3 x 16 x 16 patch), the same GEMM a stride-16 convolution does.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import declare_model_kind, declare_sam_kind, register_model_source, register_sam_source
from .standins import HashTokenizer, InputConditioner, RadioOutput, RadioSurface, TinyTextEncoder

#: C-RADIOv3-B sizes (RADIO_API.md; the issue's numbers).
RADIO_B = dict(width=768, depth=12, heads=12, num_summary=4, num_registers=4, max_res=2048, patch=16,
               mlp_hidden=1520, c_t=1152, c_sam=1280, text_width=1152)
#: the same code at stand-in sizes (``--small``).
RADIO_SMALL = dict(width=64, depth=2, heads=2, num_summary=4, num_registers=4, max_res=2048, patch=16,
                   mlp_hidden=96, c_t=48, c_sam=32, text_width=48)


class MLP2(nn.Module):
    """RADIO's adaptor MLP (``num_inner=0``, ``pre_norm=True``): LN, GELU, fc1, LN, GELU, fc2."""

    def __init__(self, c_in: int, hidden: int, c_out: int):
        super().__init__()
        self.pre_norm = nn.Sequential(nn.LayerNorm(c_in), nn.GELU())
        self.fc1 = nn.Linear(c_in, hidden)
        self.final = nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final(self.fc1(self.pre_norm(x)))


class LanguageAdaptor(nn.Module):
    """The ``siglip2`` adaptor surface: ``head_mlp``, ``feat_mlp``, ``tokenizer``, ``encode_text``."""

    def __init__(self, c_v: int, hidden: int, c_t: int, text_width: int):
        super().__init__()
        self.head_mlp = MLP2(c_v, hidden, c_t)
        self.feat_mlp = MLP2(c_v, hidden, c_t)
        self.tokenizer = HashTokenizer()
        self.text_encoder = TinyTextEncoder(self.tokenizer.vocab_size, text_width)
        self.text_proj = nn.Identity() if text_width == c_t else nn.Linear(text_width, c_t)

    def encode_text(self, tokens) -> torch.Tensor:
        return self.text_proj(self.text_encoder(tokens["input_ids"]))


class SamAdaptor(nn.Module):
    """The ``sam`` adaptor surface: ``feat_mlp`` to SAM ViT-H trunk width."""

    def __init__(self, c_v: int, hidden: int, c_sam: int):
        super().__init__()
        self.feat_mlp = MLP2(c_v, hidden, c_sam)


class CPEPatchGenerator(nn.Module):
    """RADIO's ``ViTPatchGenerator`` (eval): patches -> linear -> + cropped pos. emb. -> prefix tokens."""

    def __init__(self, width: int, patch: int, max_res: int, num_prefix: int):
        super().__init__()
        self.patch = patch
        self.grid = max_res // patch
        self.embedder = nn.Linear(3 * patch * patch, width, bias=False)
        self.pos_embed = nn.Parameter(torch.randn(1, self.grid * self.grid, width) * 0.02)
        self.prefix = nn.Parameter(torch.randn(num_prefix, width) * 0.02)

    def pos_enc(self, rows: int, cols: int) -> torch.Tensor:
        pe = self.pos_embed
        if (rows, cols) == (self.grid, self.grid):
            return pe
        pe = pe.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        m = max(rows, cols)
        pe = F.interpolate(pe.float(), size=(m, m), mode="bilinear", align_corners=True).to(pe.dtype)
        pe = pe[..., :rows, :cols]
        return pe.flatten(2).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        p = self.patch
        rows, cols = H // p, W // p
        # Im2Patches: B x (rows*cols) x (C*p*p), channel-major inside a patch
        patches = x.reshape(B, C, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5).reshape(B, rows * cols, C * p * p)
        tokens = self.embedder(patches) + self.pos_enc(rows, cols)
        return torch.cat([self.prefix[None].expand(B, -1, -1), tokens], dim=1)


class RADIOReplica(RadioSurface):
    """The ``RADIOModel`` surface (like :class:`radseg.models.standins.TinyRADIO`) at real sizes."""

    def __init__(self, width: int, depth: int, heads: int, num_summary: int, num_registers: int, max_res: int,
                 patch: int, mlp_hidden: int, c_t: int, c_sam: int, text_width: int,
                 adaptor_names: Sequence[str] = ("siglip2", "sam")):
        super().__init__()
        from timm.models.vision_transformer import VisionTransformer
        vit = VisionTransformer(img_size=224, patch_size=patch, embed_dim=width, depth=depth, num_heads=heads,
                                class_token=False, reg_tokens=0, pos_embed="none", no_embed_class=True,
                                num_classes=0, global_pool="avg")
        vit.patch_embed = nn.Identity()  # replaced by RADIO's patch generator (below)
        vit.patch_generator = CPEPatchGenerator(width, patch, max_res, num_summary + num_registers)
        self.model = vit
        self.patch_size = patch
        self.num_summary_tokens = num_summary
        self.num_skip = num_summary + num_registers
        self.input_conditioner = InputConditioner()
        known = {"siglip2": lambda: LanguageAdaptor(width, mlp_hidden, c_t, text_width),
                 "sam": lambda: SamAdaptor(width, mlp_hidden, c_sam)}
        self.attach_adaptors(known, adaptor_names)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        vit = self.model
        x = vit.patch_generator(x)
        x = vit.norm_pre(x)
        x = vit.blocks(x)
        return vit.norm(x)

    def forward(self, x: torch.Tensor):
        tokens = self.forward_features(self.input_conditioner(x))
        summary = tokens[:, :self.num_summary_tokens].flatten(1)
        out = RadioOutput(summary, tokens[:, self.num_skip:])
        if self.adaptors:
            return {"backbone": out}
        return out


def build_radio_replica(adaptor_names: Sequence[str] = ("siglip2", "sam"), seed: int = 0, small: bool = False,
                        device=None) -> RADIOReplica:
    """A seeded replica (same seed -> identical weights); ``device="meta"`` builds shapes only."""
    sizes = RADIO_SMALL if small else RADIO_B
    every = ("siglip2", "sam")
    unknown = [n for n in adaptor_names if n not in every]
    if unknown:
        raise ValueError(f"Unknown adaptor name(s) {unknown}. Known adaptors: {list(every)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if device is not None:
            with torch.device(device):
                model = RADIOReplica(adaptor_names=every, **sizes)
        else:
            model = RADIOReplica(adaptor_names=every, **sizes)
    model.adaptors = nn.ModuleDict({n: model.adaptors[n] for n in adaptor_names})
    return model


def backbone_parameters(model: RADIOReplica) -> int:
    """Parameters of the backbone alone (trunk, patch generator, prefix tokens; no adaptors)."""
    return sum(p.numel() for p in model.model.parameters())


def build_sam_replica(seed: int = 0, small: bool = False, device=None):
    """SAM ViT-H neck + prompt encoder + mask decoder at real sizes, seeded random init."""
    from .sam import build_sam_parts, build_tiny_sam
    if small:
        return build_tiny_sam(seed=seed, trunk_width=RADIO_SMALL["c_sam"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if device is not None:
            with torch.device(device):
                return build_sam_parts("vit_h")
        return build_sam_parts("vit_h")


@register_model_source("c-radio_v3-b-random")
def _radio_b_random(request):
    return build_radio_replica(list(request.adaptor_names), seed=0), {"source": "replica", "revision": "seed0"}


@register_model_source("c-radio_v3-b-random-small")
def _radio_b_random_small(request):
    return (build_radio_replica(list(request.adaptor_names), seed=0, small=True),
            {"source": "replica-small", "revision": "seed0"})


register_sam_source("sam-vit-h-random", lambda request: build_sam_replica(seed=0))
register_sam_source("sam-vit-h-random-small", lambda request: build_sam_replica(seed=0, small=True))
declare_model_kind("c-radio_v3-b-random", "replica", True, "sam-vit-h-random",
                   "C-RADIOv3-B architecture, seeded random weights (benchmarks)")
declare_model_kind("c-radio_v3-b-random-small", "replica", True, "sam-vit-h-random-small",
                   "the replica's code at stand-in sizes, seeded random")
declare_sam_kind("sam-vit-h-random", "replica", True, "SAM ViT-H prompt side, seeded random weights")
declare_sam_kind("sam-vit-h-random-small", "replica", True, "the SAM replica at stand-in sizes")

#: ``--small`` substitutes for the full-size names.
SMALL_NAMES = {"c-radio_v3-b-random": "c-radio_v3-b-random-small", "sam-vit-h-random": "sam-vit-h-random-small"}
