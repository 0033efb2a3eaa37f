"""Self-Correlating Recursive Attention (ALGORITHM.md section 3).

:class:`SCRAttention` replaces the ``attn`` module of RADIO's last block; it
reuses that module's ``qkv``, ``proj`` and ``proj_drop`` (and ``attn_drop``)
so residuals, layer-scale and the MLP of the block are untouched.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class SCRAttention(nn.Module):
    """Attention whose output is re-attended by its own per-head cosine similarity.

    Input/output: ``B x N x C`` tokens (summary, registers and patches).
    """

    #: what SCRA takes from timm's ``Attention`` (RADIO_V4.md section 6: the same names on v3 and v4;
    #: ``q_norm``/``k_norm`` and newer timm's ``norm`` are not applied, as in the reference).
    REQUIRED = ("num_heads", "qkv", "proj", "proj_drop")

    def __init__(self, attn: nn.Module, scaling: float = 10.0):
        super().__init__()
        missing = [a for a in self.REQUIRED if not hasattr(attn, a)]
        if missing:
            from ..errors import UnknownModelError
            raise UnknownModelError(
                f"SCRA needs the last block's attention to have '{missing[0]}' (a timm Attention has "
                f"{', '.join(self.REQUIRED)}); {type(attn).__name__} lacks {', '.join(missing)}.")
        self.num_heads = attn.num_heads
        self.qkv = attn.qkv
        self.proj = attn.proj
        self.proj_drop = attn.proj_drop
        self.attn_drop = getattr(attn, "attn_drop", nn.Identity())
        self.scaling = float(scaling)
        #: fast mode: step 1 (ordinary softmax attention) through fused SDPA. Steps 2-4 stay
        #: explicit: their mask (``S < 0``) depends on ``S`` itself, which a fused kernel
        #: never materialises, so SDPA would need ``S`` computed anyway. Not bit-exact.
        self.fast = False
        self.original = [attn]  # kept out of the module tree; see :func:`remove_scra`

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        B, N, C = x.shape
        h = self.num_heads
        d = C // h
        qkv = self.qkv(x).reshape(B, N, 3, h, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # B x h x N x d each
        # 1. ordinary attention; q/k norm layers deliberately not applied (reference).
        if self.fast and not self.training:
            o = F.scaled_dot_product_attention(q, k, v)  # same math: softmax(q k^T / sqrt(d)) v
        else:
            # The scaling and the mask below are applied in place: the same elementwise float
            # operations (the same bits; tests/test_exact_speed.py), minus two fresh ``B x h x N x N``
            # tensors each. At RADSeg+'s 1024 px pass (N = 3080) each is 455 MB, which the CPU
            # allocator maps and zero-fills anew every time (docs/BENCHMARKS.md, "CPU exact mode").
            attn = q @ k.transpose(-2, -1)
            attn.mul_(d ** -0.5)
            attn = self.attn_drop(attn.softmax(dim=-1))
            o = attn @ v
            del attn
        o = o.transpose(1, 2).reshape(B, N, C)
        o = self.proj_drop(self.proj(o))
        # 2. per-head cosine self-similarity of the attention output.
        oh = F.normalize(o.reshape(B, N, h, d).transpose(1, 2), dim=-1)
        sim = oh @ oh.transpose(-2, -1)
        sim.mul_(self.scaling)
        # 3. negative similarities are excluded.
        sim = sim.masked_fill_(sim < 0, float("-inf")).softmax(dim=-1)
        # 4. re-attend the ORIGINAL v and project a second time.
        out = (sim @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(out))


def apply_scra(vit: nn.Module, scaling: float = 10.0) -> SCRAttention:
    """Replace ``vit.blocks[-1].attn`` by SCRA (idempotent: re-sets the scaling)."""
    block = vit.blocks[-1]
    if isinstance(block.attn, SCRAttention):
        block.attn.scaling = float(scaling)
        return block.attn
    block.attn = SCRAttention(block.attn, scaling)
    return block.attn


def remove_scra(vit: nn.Module) -> None:
    """Restore the last block's original attention (for ablations)."""
    block = vit.blocks[-1]
    if isinstance(block.attn, SCRAttention):
        block.attn = block.attn.original[0]
