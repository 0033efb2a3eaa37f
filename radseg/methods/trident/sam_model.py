"""SAM for Trident (TRIDENT.md section 1, step A): ``segment_anything`` with the last block's attention exposed.

The release vendors segment_anything (== PyPI ``segment-anything 1.0``) and changes only what
``ImageEncoderViT.forward`` returns: the **last block's** softmax attention ``[B*heads, 4096, 4096]``
and its value ``[B, heads, 64, 64, head_dim]``. Here the PyPI package builds SAM and
:func:`capture_last_attention` replaces the last block's ``Attention.forward`` with the same
computation that also stores both (``attn.last_attn``, ``attn.last_v``).

Models: ``vit_b`` (``sam_model_registry['vit_b']``: 93,735,472 parameters; checkpoint
``sam_vit_b_01ec64.pth``, its MD5 checked by :func:`radseg.models.sam.verify_checkpoint`),
``vit_b`` with seeded random weights (``<name>-random``), and ``tiny`` (the ``tiny-random``
stand-in: 1024 px input, 64 x 64 tokens, width 32, one global-attention block, 2 heads).
"""
from __future__ import annotations

import types
from functools import partial
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from ...errors import WeightsNotFoundError

SAM_B_URL = "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth"
SAM_B_FILE = "sam_vit_b_01ec64.pth"
#: the image encoders (``segment_anything/build_sam.py``; ``tiny``: the seeded test double)
SAM_ENCODERS = {
    "vit_b": dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11), prompt_dim=256,
                  mask_in_chans=16, decoder_depth=2, decoder_mlp=2048, decoder_heads=8, iou_hidden=256, iou_depth=3),
    "tiny": dict(embed_dim=32, depth=1, num_heads=2, global_attn_indexes=(0,), prompt_dim=32, mask_in_chans=4,
                 decoder_depth=1, decoder_mlp=64, decoder_heads=2, iou_hidden=32, iou_depth=2),
}


def build_sam_arch(arch: str = "vit_b"):
    """An untrained ``segment_anything.modeling.Sam`` of ``arch``, as ``build_sam._build_sam`` builds it."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
    a = SAM_ENCODERS[arch]
    return Sam(
        image_encoder=ImageEncoderViT(depth=a["depth"], embed_dim=a["embed_dim"], img_size=1024, mlp_ratio=4,
                                      norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=a["num_heads"],
                                      patch_size=16, qkv_bias=True, use_rel_pos=True,
                                      global_attn_indexes=a["global_attn_indexes"], window_size=14,
                                      out_chans=a["prompt_dim"]),
        prompt_encoder=PromptEncoder(embed_dim=a["prompt_dim"], image_embedding_size=(64, 64),
                                     input_image_size=(1024, 1024), mask_in_chans=a["mask_in_chans"]),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=a["decoder_depth"], embedding_dim=a["prompt_dim"],
                                                               mlp_dim=a["decoder_mlp"], num_heads=a["decoder_heads"]),
                                 transformer_dim=a["prompt_dim"], iou_head_depth=a["iou_depth"],
                                 iou_head_hidden_dim=a["iou_hidden"]),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375]).eval()


def seeded_sam(arch: str, seed: int):
    """A seeded random SAM (relative positions non-zero, so the attention has structure); same seed, same model."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sam = build_sam_arch(arch)
        with torch.no_grad():
            for name, p in sam.named_parameters():
                if "rel_pos" in name:
                    p.copy_(0.1 * torch.randn_like(p))
    return sam


def load_sam_checkpoint(path, arch: str = "vit_b"):
    """SAM's official ``.pth`` layout (``Sam.state_dict()`` keys) into ``build_sam_arch(arch)``, strictly."""
    from ...models.sam import _read_state_dict
    sam = build_sam_arch(arch)
    sd = _read_state_dict(Path(path))
    from .dino import load_strictly
    return load_strictly(sam, sd, f"SAM checkpoint '{path}' does not fit SAM {arch}",
                         f"Trident uses {SAM_B_URL}").eval()


def sam_checkpoint_path(weights: Optional[str] = None, model_type: str = "vit_b") -> Path:
    """``weights`` or ``sam_vit_b_01ec64.pth`` looked up as RADSeg looks up SAM (cwd, the radseg cache,
    torch.hub's checkpoints), its digest checked; missing or wrong: one :class:`WeightsNotFoundError` line."""
    from ...models.sam import check_container, find_checkpoint, search_locations, verify_checkpoint
    try:
        path = find_checkpoint(weights or SAM_B_FILE)
    except WeightsNotFoundError:
        folders = ", ".join(str(p.parent) for p in search_locations())
        where = str(weights) if weights else f"{SAM_B_FILE} (looked in {folders})"
        raise WeightsNotFoundError(f"Trident's SAM checkpoint {where} not found: download {SAM_B_URL} "
                                   f"(--weights sam=PATH).") from None
    verify_checkpoint(path, model_type)
    check_container(path)
    return Path(path)


def build_sam(model_version: str, weights: Optional[str] = None, model_type: str = "vit_b"):
    """The SAM of a Trident ``model_version`` with its last block's attention captured."""
    if model_version == "tiny-random":
        sam = seeded_sam("tiny", seed=21)
    elif model_version.endswith("-random"):
        sam = seeded_sam(model_type, seed=22)
    else:
        sam = load_sam_checkpoint(sam_checkpoint_path(weights, model_type), model_type)
    capture_last_attention(sam.image_encoder)
    return sam


def _capturing_forward(self, x: torch.Tensor) -> torch.Tensor:
    """segment_anything's ``Attention.forward``, op for op, storing ``last_attn`` and ``last_v``."""
    from segment_anything.modeling.image_encoder import add_decomposed_rel_pos
    B, H, W, _ = x.shape
    qkv = self.qkv(x).reshape(B, H * W, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.reshape(3, B * self.num_heads, H * W, -1).unbind(0)
    attn = (q * self.scale) @ k.transpose(-2, -1)
    if self.use_rel_pos:
        attn = add_decomposed_rel_pos(attn, q, self.rel_pos_h, self.rel_pos_w, (H, W), (H, W))
    attn = attn.softmax(dim=-1)
    self.last_attn = attn  # [B*heads, H*W, H*W]
    self.last_v = v.view(B, self.num_heads, H, W, -1)  # [B, heads, H, W, head_dim]
    x = (attn @ v).view(B, self.num_heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
    return self.proj(x)


def capture_last_attention(encoder: nn.Module) -> nn.Module:
    """Make the last block of ``encoder`` (an ``ImageEncoderViT``) keep its attention and value."""
    blk = encoder.blocks[-1]
    if blk.window_size != 0:
        raise ValueError("the last SAM block must use global attention (window_size 0)")
    blk.attn.forward = types.MethodType(_capturing_forward, blk.attn)
    return encoder


def sam_heads(sam) -> int:
    """``self.sam_heads`` of the release: the last block's head count (12 for vit_b)."""
    return int(sam.image_encoder.blocks[-1].attn.num_heads)
