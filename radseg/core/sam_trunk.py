"""RADSeg+ without RADIO's ``sam`` adaptor: SAM ViT-H's own image encoder (RADIO_V4.md 8.1).

C-RADIOv4 has no ``sam`` adaptor, so the SAM image embedding cannot come from one
RADIO pass (:func:`radseg.sam_refine.sam_image_embedding`). This path keeps SAM's
ViT trunk and does what ``SamPredictor.set_torch_image`` does:

1. the network input (CLIP-normalised, 0..255 units) is turned back into 0..255 RGB;
2. ``ResizeLongestSide(1024)`` (long side 1024, short side rounded to nearest; RADSeg's
   own ``_preprocess_sam`` rounds down to 16 px instead: SAM's ``input_size`` is whatever
   was given to the encoder, as RADIO_V4.md says);
3. SAM's own normalisation (``pixel_mean``/``pixel_std``) and zero padding to 1024^2
   (``Sam.preprocess``), then the full image encoder (trunk + neck): ``1 x 256 x 64 x 64``.

Everything after the embedding (regions, prompts, decoder, merge) is unchanged. Records
name it ``sam_vit_h_image_encoder`` (``bundle.info["sam_embedding"]``). It is slower: a
full ViT-H forward (32 blocks, width 1280) per image on top of RADIO's passes; see
``benchmarks/speed.py``.

The trunk is loaded lazily, on first use, from the same checkpoint as the rest of SAM
(:func:`radseg.models.sam.load_sam` records it as ``sam.radseg_checkpoint``): the keys
``image_encoder.*`` of ``sam_vit_h_4b8939.pth``. The stand-in SAM ``tiny-random-sam``
gets a seeded one-block trunk (:func:`build_tiny_trunk`) in front of its own neck.
"""
from __future__ import annotations

import copy
from functools import partial
from typing import Tuple

import torch
import torch.nn as nn

from ..errors import WeightsNotFoundError
from ..preprocess import MEAN_RGB, STD_RGB

#: segment_anything/build_sam.py's ViT-H image encoder.
VIT_H_TRUNK = dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31), window_size=14,
                   use_rel_pos=True, out_chans=256)


def has_trunk(sam) -> bool:
    enc = sam.image_encoder
    return hasattr(enc, "patch_embed") and len(getattr(enc, "blocks", [])) > 0


def build_tiny_trunk(neck: nn.Module, trunk_width: int, seed: int = 0) -> nn.Module:
    """A seeded one-block SAM image encoder (1024 px, patch 16) ending in ``neck``."""
    from segment_anything.modeling import ImageEncoderViT
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        enc = ImageEncoderViT(img_size=1024, patch_size=16, embed_dim=trunk_width, depth=1, num_heads=2,
                              out_chans=32, window_size=16, global_attn_indexes=(), use_abs_pos=True)
    enc.neck = copy.deepcopy(neck)
    return enc.eval()


def build_vit_h_trunk() -> nn.Module:
    """SAM ViT-H's image encoder (random weights), as ``segment_anything.build_sam`` builds it."""
    from segment_anything.modeling import ImageEncoderViT
    a = VIT_H_TRUNK
    return ImageEncoderViT(img_size=1024, patch_size=16, embed_dim=a["embed_dim"], depth=a["depth"],
                           num_heads=a["num_heads"], mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                           qkv_bias=True, use_rel_pos=a["use_rel_pos"], global_attn_indexes=a["global_attn_indexes"],
                           window_size=a["window_size"], out_chans=a["out_chans"]).eval()


def ensure_trunk(sam) -> nn.Module:
    """``sam.image_encoder`` with its trunk, loading it once from ``sam.radseg_checkpoint``."""
    if has_trunk(sam):
        return sam.image_encoder
    origin = getattr(sam, "radseg_checkpoint", None)
    neck = sam.image_encoder.neck
    if origin == "tiny-random-sam":
        enc = build_tiny_trunk(neck, trunk_width=int(neck[0].in_channels))
    elif origin:
        from ..models.sam import _read_state_dict, find_checkpoint
        path = find_checkpoint(origin)
        sd = {k[len("image_encoder."):]: v for k, v in _read_state_dict(path).items()
              if k.startswith("image_encoder.")}
        enc = build_vit_h_trunk()
        missing, unexpected = enc.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise WeightsNotFoundError(
                f"SAM checkpoint '{path}' does not hold SAM ViT-H's image encoder (missing {missing[:3]}, "
                f"unexpected {unexpected[:3]}); RADSeg+ on a model without RADIO's 'sam' adaptor (C-RADIOv4) "
                f"runs SAM's own image encoder and needs the full sam_vit_h_4b8939.pth.")
    else:
        raise WeightsNotFoundError(
            "RADSeg+ on a model without RADIO's 'sam' adaptor (C-RADIOv4) runs SAM ViT-H's own image encoder, "
            "but this SAM has no trunk and no known checkpoint: load it with radseg.models.sam.load_sam.")
    dev = next(sam.parameters()).device
    sam.image_encoder = enc.to(dev).eval()
    return sam.image_encoder


@torch.no_grad()
def trunk_image_embedding(encoder, img: torch.Tensor, sam) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """SAM's image embedding from its own encoder, for the network input ``img``
    (``1 x 3 x H x W``, CLIP-normalised in 0..255 units). Returns ``(1 x 256 x 64 x 64,
    input_size)``, the contract of :func:`radseg.sam_refine.sam_image_embedding`."""
    from segment_anything.utils.transforms import ResizeLongestSide
    trunk = ensure_trunk(sam)
    mean = torch.tensor(MEAN_RGB, device=img.device).view(1, 3, 1, 1)
    std = torch.tensor(STD_RGB, device=img.device).view(1, 3, 1, 1)
    rgb = (img.float() * std + mean).clamp(0, 255)
    resized = ResizeLongestSide(int(trunk.img_size)).apply_image_torch(rgb)
    input_size = tuple(int(s) for s in resized.shape[-2:])
    x = sam.preprocess(resized)  # SAM's pixel_mean / pixel_std, zero padding to 1024 x 1024
    return trunk(x), input_size
