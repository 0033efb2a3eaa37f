"""The releases' CLIP precision: fp32 (CPU), or OpenAI's fp16 (CUDA).

OpenAI's ``clip.load`` (NACLIP's loader) converts the conv, linear and attention weights and
``proj`` / ``text_projection`` to fp16 and keeps every LayerNorm computing in fp32 (its
``LayerNorm`` subclass casts the input up and the output back); the embeddings
(``class_embedding``, ``positional_embedding``, ``token_embedding``) stay fp32 parameters and are
cast to the activation dtype where they are added. On CPU it calls ``.float()``: everything fp32.
open_clip's ``precision='fp16'`` OpenAI path (Trident's loader) gives the same: its
``convert_weights_to_lp`` and ``LayerNormFp32``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

PRECISIONS = ("fp32", "fp16")


def to_release_precision(model: nn.Module, precision: str) -> nn.Module:
    """Cast ``model`` (an open_clip ``CLIP``) in place to ``precision`` as the releases do; returns it."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    model.float()
    if precision == "fp16":
        from open_clip.model import convert_weights_to_lp
        from open_clip.transformer import LayerNormFp32
        convert_weights_to_lp(model, torch.float16)
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.__class__ = LayerNormFp32  # computes in fp32, returns the input dtype
    return model


def compute_dtype(model: nn.Module) -> torch.dtype:
    """The activation dtype of ``model``: the dtype of its patch-embedding weights."""
    return model.visual.conv1.weight.dtype
