"""DINO ViT for Trident (TRIDENT.md section 1, step 8): facebookresearch/dino's ``vision_transformer``.

The release loads ``torch.hub.load('facebookresearch/dino:main', 'dino_vitb16')`` (code pinned
at 7c446df). torch.hub needs the network, so this module carries the same architecture in plain
PyTorch (:class:`DinoViT`, DINO's own state-dict names, op for op DINO's forward and its
``interpolate_pos_encoding``) and loads the official ``dino_vitbase16_pretrain.pth`` layout.
timm's ``vit_base_patch16_224.dino`` holds the same weights under the same names and gives the
same tokens at 224 px, but resamples position embeddings with ``size=`` and antialiasing (T6),
so it is not used (``tests/test_trident_exact.py`` checks both facts on a seeded state dict).

Models: ``dino_vitb16`` (embed 768, 12 layers, 12 heads, patch 16, 85,798,656 parameters),
``dino_vitb16-random`` (the same, seeded random) and ``tiny-random`` (embed 32, 2 layers).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Optional

import torch
import torch.nn as nn

from ...errors import WeightsNotFoundError
from .posemb import interpolate_pos_embed

DINO_URL = "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth"
DINO_FILE = "dino_vitbase16_pretrain.pth"
#: architectures: ``vision_transformer.vit_base(patch_size=16)`` and the tiny stand-in
DINO_ARCHS: Dict[str, dict] = {
    "dino_vitb16": dict(embed_dim=768, depth=12, num_heads=12, patch_size=16, img_size=224),
    "tiny": dict(embed_dim=32, depth=2, num_heads=2, patch_size=16, img_size=224),
}
#: ImageNet statistics (0..1 RGB): DINO's input normalisation (step 8)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class _Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _Mlp(dim, 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, embed_dim: int):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    """DINO's ``VisionTransformer`` (``num_classes=0``), inference only; DINO's state-dict names."""

    def __init__(self, embed_dim: int = 768, depth: int = 12, num_heads: int = 12, patch_size: int = 16,
                 img_size: int = 224):
        super().__init__()
        self.embed_dim, self.patch_size = embed_dim, patch_size
        self.patch_embed = _PatchEmbed(patch_size, embed_dim)
        n = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, embed_dim))
        self.blocks = nn.ModuleList(_Block(embed_dim, num_heads) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

    def interpolate_pos_encoding(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """DINO's: bicubic with ``scale_factor=((h/P + 0.1)/sqrt(N), (w/P + 0.1)/sqrt(N))`` (T6).

        ``x`` ``B x (1+n) x C`` tokens of an ``h x w`` input; returns ``1 x (1+n) x C``.
        """
        return interpolate_pos_embed(self.pos_embed, x.shape[1] - 1, h // self.patch_size, w // self.patch_size)

    def prepare_tokens(self, x: torch.Tensor) -> torch.Tensor:
        B, _, h, w = x.shape
        t = self.patch_embed(x)
        t = torch.cat((self.cls_token.expand(B, -1, -1), t), dim=1)
        return t + self.interpolate_pos_encoding(t, h, w)

    def get_intermediate_layers(self, x: torch.Tensor, n: int = 1):
        """The final-LayerNorm outputs of the last ``n`` blocks, each ``B x (1+h*w) x C``."""
        x = self.prepare_tokens(x)
        out = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if len(self.blocks) - i <= n:
                out.append(self.norm(x))
        return out


def build_dino_arch(arch: str = "dino_vitb16") -> DinoViT:
    """An untrained :class:`DinoViT` of ``arch`` (:data:`DINO_ARCHS`; ``tiny`` for the stand-in)."""
    return DinoViT(**DINO_ARCHS[arch]).eval()


def seeded_dino(arch: str, seed: int) -> DinoViT:
    """A seeded random DINO (truncated-normal-like weights, LayerNorm at 1/0 + noise), same seed -> same model."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_dino_arch(arch)
        for name, p in model.named_parameters():
            with torch.no_grad():
                if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
                else:
                    std = 0.02 if p.dim() > 1 or "token" in name else 0.01
                    p.copy_(std * torch.randn_like(p))
    return model


def dino_checkpoint_path(weights: Optional[str]) -> Path:
    """``weights`` or torch.hub's cached ``dino_vitbase16_pretrain.pth``; missing: one clear error."""
    if weights:
        p = Path(os.path.expanduser(str(weights)))
        if not p.is_file():
            raise WeightsNotFoundError(f"DINO weights '{weights}' not found: download {DINO_URL} there "
                                       f"(or pass --weights dino=PATH).")
        return p
    p = Path(torch.hub.get_dir()) / "checkpoints" / DINO_FILE
    if not p.is_file():
        raise WeightsNotFoundError(f"DINO weights {DINO_FILE} not found in {p.parent}: download {DINO_URL} "
                                   f"there, or pass --weights dino=PATH.")
    return p


def load_dino_state(model: DinoViT, state_dict: dict, origin: str) -> DinoViT:
    """Load DINO's ``.pth`` layout (backbone keys; a ``teacher``/``student`` wrapper and ``module.``/``backbone.``
    prefixes are unwrapped as DINO's own ``load_pretrained_weights`` does; ``head.*`` ignored), strictly."""
    for key in ("teacher", "student", "state_dict", "model"):
        if isinstance(state_dict.get(key), dict):
            state_dict = state_dict[key]
            break
    sd = {k.replace("module.", "").replace("backbone.", ""): v for k, v in state_dict.items()}
    sd = {k: v for k, v in sd.items() if not k.startswith("head.")}
    return load_strictly(model, sd, f"DINO weights {origin} do not fit DINO ViT-B/16", f"use {DINO_URL}")


def load_strictly(model, sd, misfit: str, fix: str):
    """``model.load_state_dict(sd)`` with every key and shape required; a misfit is one
    WeightsNotFoundError line ``"<misfit> (<what>); <fix>."`` (DINO's and SAM's loaders)."""
    try:
        missing, unexpected = model.load_state_dict(sd, strict=False)
    except RuntimeError as e:  # shape mismatches
        first = [ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln][:1]
        raise WeightsNotFoundError(f"{misfit} ({first[0] if first else e}); {fix}.") from None
    if missing or unexpected:
        raise WeightsNotFoundError(f"{misfit} (missing {missing[:3]}, unexpected {unexpected[:3]}); {fix}.")
    return model


def build_dino(model_version: str, weights: Optional[str] = None, arch: str = "dino_vitb16") -> DinoViT:
    """The DINO of a Trident ``model_version``: real weights, ``<name>-random`` or ``tiny-random``."""
    if model_version == "tiny-random":
        return seeded_dino("tiny", seed=11)
    if model_version.endswith("-random"):
        return seeded_dino(arch, seed=12)
    path = dino_checkpoint_path(weights)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsNotFoundError(f"could not read DINO weights '{path}' ({type(e).__name__}); download "
                                   f"{DINO_URL} again.") from None
    return load_dino_state(build_dino_arch(arch), sd, f"'{path}'").eval()


def dino_features(dino: DinoViT, crops: torch.Tensor) -> torch.Tensor:
    """Step 8: CLIP-normalised crops ``n x 3 x c x c`` (0..1 units after un-normalising) -> ``n x C x c/P x c/P``.

    ``crops`` are in CLIP normalisation (mean/std of 0..1 RGB, i.e. the 0..255 statistics / 255);
    they are un-normalised to 0..1 RGB, re-normalised with ImageNet statistics, run through
    ``get_intermediate_layers(n=1)`` (last block after the final norm), CLS dropped.
    """
    from .crops import CLIP_MEAN01, CLIP_STD01
    dev, dt = crops.device, crops.dtype
    rgb = crops * torch.tensor(CLIP_STD01, device=dev, dtype=dt).view(1, 3, 1, 1) + \
        torch.tensor(CLIP_MEAN01, device=dev, dtype=dt).view(1, 3, 1, 1)
    x = (rgb - torch.tensor(IMAGENET_MEAN, device=dev, dtype=dt).view(1, 3, 1, 1)) / \
        torch.tensor(IMAGENET_STD, device=dev, dtype=dt).view(1, 3, 1, 1)
    p = dino.patch_size
    tokens = dino.get_intermediate_layers(x.to(next(dino.parameters()).dtype), n=1)[0]
    n, _, h, w = crops.shape
    return tokens[:, 1:].reshape(n, h // p, w // p, -1).permute(0, 3, 1, 2)
