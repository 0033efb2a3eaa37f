"""NACLIP's last visual block: neighbourhood attention (spec section 3.2 steps 4-5).

Shapes: ``x`` is ``B x N x D`` batch-first tokens (CLS first, then ``hp x wp`` patches row-major),
``h`` heads of ``dh = D / h`` channels.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def gaussian_prior(hp: int, wp: int, std: float, dtype: torch.dtype = torch.float32,
                   device=None) -> torch.Tensor:
    """Omega, ``N x N`` with ``N = 1 + hp*wp``: ``exp(-((r-r')^2 + (c-c')^2) / (2 std^2))`` between patches.

    Row 0 and column 0 (CLS) are 0; the diagonal is 1; no window truncation (the release's
    ``(2hp-1) x (2wp-1)`` kernel covers every pair). ``std`` is in tokens. Computed in fp32, cast to
    ``dtype`` (the activation dtype, as the release casts its cached map).
    """
    r = torch.arange(hp, dtype=torch.float32, device=device).repeat_interleave(wp)   # row of token r*wp+c
    c = torch.arange(wp, dtype=torch.float32, device=device).repeat(hp)
    d2 = (r[:, None] - r[None, :]) ** 2 + (c[:, None] - c[None, :]) ** 2
    g = torch.exp(-d2 / (2 * std ** 2))
    omega = torch.zeros(1 + hp * wp, 1 + hp * wp, dtype=torch.float32, device=device)
    omega[1:, 1:] = g
    return omega.to(dtype)


def split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """``B x N x D -> B x h x N x dh`` (standard MHA channel layout: head-major)."""
    b, n, d = t.shape
    return t.reshape(b, n, heads, d // heads).permute(0, 2, 1, 3)


def merge_heads(t: torch.Tensor) -> torch.Tensor:
    """``B x h x N x dh -> B x N x D``."""
    b, h, n, dh = t.shape
    return t.permute(0, 2, 1, 3).reshape(b, n, h * dh)


def neighbourhood_attention(attn: nn.MultiheadAttention, y: torch.Tensor, hp: int, wp: int, std: float,
                            strategy: str = "naclip") -> torch.Tensor:
    """``out_proj(softmax(k k^T / sqrt(dh) + Omega) v)`` on ``y = ln_1(x)`` (``B x N x D -> B x N x D``).

    ``strategy``: ``naclip`` (key-key plus the additive Gaussian; q is computed and unused),
    ``kk`` (key-key alone), ``vanilla`` (CLIP's q-k attention, no Gaussian).
    """
    q, k, v = F.linear(y, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    h = attn.num_heads
    q, k, v = split_heads(q, h), split_heads(k, h), split_heads(v, h)
    scale = (k.shape[-1]) ** -0.5
    if strategy == "vanilla":
        logits = (q @ k.transpose(-2, -1)) * scale
    else:
        logits = (k @ k.transpose(-2, -1)) * scale
        if strategy == "naclip":
            logits = logits + gaussian_prior(hp, wp, std, logits.dtype, logits.device)
    o = logits.softmax(dim=-1) @ v
    return attn.out_proj(merge_heads(o))


def naclip_last_block(blk: nn.Module, x: torch.Tensor, hp: int, wp: int, std: float, arch: str = "reduced",
                      strategy: str = "naclip") -> torch.Tensor:
    """The last block: ``reduced`` returns the attention output **alone** (no residual, no ``ln_2``,
    no MLP); ``vanilla`` keeps CLIP's residuals and MLP around the same attention."""
    a = neighbourhood_attention(blk.attn, blk.ln_1(x), hp, wp, std, strategy)
    if arch == "reduced":
        return a
    x = x + a
    return x + blk.mlp(blk.ln_2(x))
