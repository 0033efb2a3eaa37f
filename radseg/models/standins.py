"""Seeded random stand-ins for RADIO (and its adaptors) with the real attribute names.

They exist so that tests, CI and CPU benchmarks exercise exactly the code
paths of the real models (RADIO_API.md, "Test doubles"). Registered names:

* ``tiny-random``: timm ViT (patch 16, width 32, depth 2, 2 heads, one class
  token and two register tokens), a ``siglip2`` adaptor (random ``head_mlp``
  / ``feat_mlp``, a real in-memory hash tokenizer, a random text encoder) and
  a ``sam`` adaptor (``feat_mlp`` to width 32).

Two builds with the same seed give identical weights.
"""
from __future__ import annotations

import re
import zlib
from collections import namedtuple
from typing import List, Sequence

import torch
import torch.nn as nn

from .registry import declare_model_kind, register_model_source

RadioOutput = namedtuple("RadioOutput", ["summary", "features"])


class HashTokenizer:
    """A tiny real tokenizer: SigLIP2-style canonicalisation, word hashing, pad/truncate to 64."""

    def __init__(self, vocab_size: int = 1024, max_length: int = 64, pad_id: int = 0):
        self.vocab_size, self.max_length, self.pad_id = vocab_size, max_length, pad_id

    @staticmethod
    def canonicalize(text: str) -> str:
        text = text.replace("_", " ")
        text = re.sub(r"[^\w\s]", "", text).lower()
        return re.sub(r"\s+", " ", text).strip()

    def __call__(self, texts: Sequence[str]):
        from transformers import BatchEncoding
        ids = []
        for t in texts:
            words = self.canonicalize(t).split(" ")
            row = [1 + zlib.crc32(w.encode()) % (self.vocab_size - 1) for w in words if w]
            row = row[: self.max_length]
            ids.append(row + [self.pad_id] * (self.max_length - len(row)))
        return BatchEncoding({"input_ids": torch.tensor(ids, dtype=torch.long)})


class TinyTextEncoder(nn.Module):
    """Embedding + masked mean + linear: ``B x 64`` ids -> ``B x C_t``."""

    def __init__(self, vocab_size: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.out = nn.Linear(width, width)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        mask = (input_ids != 0).float().unsqueeze(-1)
        x = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.out(torch.tanh(x))


def _mlp(c_in: int, c_out: int, hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(c_in, hidden), nn.GELU(), nn.Linear(hidden, c_out))


class TinyLanguageAdaptor(nn.Module):
    """Like RADIO's ``siglip2`` adaptor: ``head_mlp``, ``feat_mlp``, ``tokenizer``, ``encode_text``."""

    def __init__(self, c_v: int, c_t: int = 48):
        super().__init__()
        self.head_mlp = _mlp(c_v, c_t)
        self.feat_mlp = _mlp(c_v, c_t)
        self.tokenizer = HashTokenizer()
        self.text_encoder = TinyTextEncoder(self.tokenizer.vocab_size, c_t)

    def encode_text(self, tokens) -> torch.Tensor:
        return self.text_encoder(tokens["input_ids"])


class TinySamAdaptor(nn.Module):
    """Like RADIO's ``sam`` adaptor: ``feat_mlp`` to the (tiny) SAM trunk width."""

    def __init__(self, c_v: int, c_sam: int = 32):
        super().__init__()
        self.feat_mlp = _mlp(c_v, c_sam)


class InputConditioner(nn.Module):
    """RADIO's built-in CLIP normalisation of 0..1 RGB input."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class RadioSurface(nn.Module):
    """What every RADIO-shaped stand-in shares (RADIO_API.md): ``adaptors`` built by name,
    ``make_preprocessor_external()`` and ``get_nearest_supported_resolution`` (multiples of
    :attr:`min_resolution_step`, the patch size unless a subclass coarsens it)."""

    patch_size: int

    @property
    def min_resolution_step(self) -> int:
        return self.patch_size

    def attach_adaptors(self, known: dict, adaptor_names: Sequence[str]) -> None:
        """``known``: name -> constructor; an unknown name raises ``ValueError`` as RADIO does."""
        for n in adaptor_names:
            if n not in known:
                raise ValueError(f"Unknown adaptor '{n}'. Known adaptors: {sorted(known)}")
        self.adaptors = nn.ModuleDict({n: known[n]() for n in adaptor_names})

    def make_preprocessor_external(self) -> nn.Module:
        cond, self.input_conditioner = self.input_conditioner, nn.Identity()
        return cond

    def get_nearest_supported_resolution(self, h: int, w: int):
        s = self.min_resolution_step
        return max(s, round(h / s) * s), max(s, round(w / s) * s)


class TinyRADIO(RadioSurface):
    """The RADIOModel surface: ``model`` (timm ViT), ``patch_size``, ``adaptors``, ...

    ``forward(x)`` returns ``RadioOutput(summary, features)`` with features
    ``B x N_patches x C`` (class and register tokens removed) while
    ``adaptors`` is ``None``; with adaptors attached it returns a dict like RADIO.
    """

    def __init__(self, width: int = 32, depth: int = 2, heads: int = 2, reg_tokens: int = 2,
                 adaptor_names: Sequence[str] = ("siglip2", "sam"), c_t: int = 48, c_sam: int = 32):
        super().__init__()
        from timm.models.vision_transformer import VisionTransformer
        self.model = VisionTransformer(
            img_size=224, patch_size=16, embed_dim=width, depth=depth, num_heads=heads,
            class_token=True, reg_tokens=reg_tokens, dynamic_img_size=True, num_classes=0,
            global_pool="token")
        self.patch_size = 16
        self.num_summary_tokens = 1 + reg_tokens
        self.input_conditioner = InputConditioner()
        known = {"siglip2": lambda: TinyLanguageAdaptor(width, c_t),
                 "clip": lambda: TinyLanguageAdaptor(width, c_t),
                 "sam": lambda: TinySamAdaptor(width, c_sam)}
        self.attach_adaptors(known, adaptor_names)

    def forward(self, x: torch.Tensor):
        x = self.input_conditioner(x)
        tokens = self.model.forward_features(x)
        summary = tokens[:, 0]
        features = tokens[:, self.num_summary_tokens:]
        out = RadioOutput(summary, features)
        if self.adaptors:
            return {"backbone": out}
        return out


def build_tiny_radio(adaptor_names: List[str], seed: int = 0, **kwargs) -> TinyRADIO:
    """A seeded :class:`TinyRADIO` (same seed -> identical weights).

    All adaptors are built from one random stream and the requested ones kept,
    so the language adaptor does not depend on whether ``sam`` was asked for.
    An unknown adaptor name raises ``ValueError`` as RADIO does.
    """
    every = ("siglip2", "sam", "clip")
    unknown = [n for n in adaptor_names if n not in every]
    if unknown:
        raise ValueError(f"Unknown adaptor name(s) {unknown}. Known adaptors: {list(every)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TinyRADIO(adaptor_names=every, **kwargs)
    model.adaptors = nn.ModuleDict({n: model.adaptors[n] for n in adaptor_names})
    return model


@register_model_source("tiny-random")
def _tiny_random(request):
    return build_tiny_radio(list(request.adaptor_names), seed=0), {"source": "stand-in", "revision": "seed0"}


declare_model_kind("tiny-random", "stand-in", True, "tiny-random-sam", "tiny C-RADIOv3-shaped stand-in, seeded random")

