"""CLIP's text side as the releases use it: tokenizer, ``encode_text``, template ensembles.

* Tokenizer: open_clip's ``tokenize`` = OpenAI's BPE ``SimpleTokenizer`` (same vocabulary and
  cleaning), context 77. Difference: OpenAI's ``clip.tokenize`` raises on a text over 77 tokens,
  open_clip truncates it (keeping EOT); no template with a benchmark class name comes near.
* Templates: the 80 OpenAI ImageNet templates. open_clip's ``OPENAI_IMAGENET_TEMPLATES`` are the
  same 80 strings, in the same order, as the releases' ``prompts/imagenet_template.py``
  (``'a bad photo of a {}.'`` ... ``'a tattoo of the {}.'``); the order does not matter for the mean.
* Per class word ``w``: encode each template, L2-normalise **each**, average, L2-normalise again.
"""
from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import torch
import torch.nn as nn

from .precision import compute_dtype


def openai_imagenet_templates() -> Tuple[Callable[[str], str], ...]:
    """The 80 OpenAI ImageNet prompt templates (callables ``name -> prompt``)."""
    from open_clip import OPENAI_IMAGENET_TEMPLATES
    return tuple(OPENAI_IMAGENET_TEMPLATES)


def tokenize(texts: Sequence[str], context_length: int = 77) -> torch.Tensor:
    """``n`` texts -> ``n x 77`` int64 token ids (SOT ... EOT, zero padded)."""
    from open_clip import tokenize as _tok
    return _tok(list(texts), context_length=context_length).long()


def encode_text(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """``n x 77`` token ids -> ``n x E`` text features (not normalised), in the model's dtype.

    token embedding + positional embedding, the causal transformer, ``ln_final``, the EOT token
    (argmax of the ids) pooled, ``@ text_projection``.
    """
    dtype = compute_dtype(model)
    x = model.token_embedding(tokens).to(dtype) + model.positional_embedding.to(dtype)
    x = model.transformer(x, attn_mask=model.attn_mask)
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
    return x @ model.text_projection


def ensemble_embedding(model: nn.Module, word: str, templates: Sequence[Callable[[str], str]],
                       device=None) -> torch.Tensor:
    """One query word -> ``E`` (normalise each template embedding, mean, normalise)."""
    device = device if device is not None else model.token_embedding.weight.device
    tokens = tokenize([t(word) for t in templates]).to(device)
    feats = encode_text(model, tokens)
    feats = feats / feats.norm(dim=-1, keepdim=True)
    mean = feats.mean(dim=0)
    return mean / mean.norm()


@torch.no_grad()
def query_embeddings(model: nn.Module, words: Sequence[str], templates=None, device=None) -> torch.Tensor:
    """``Q`` query words -> ``Q x E`` (one :func:`ensemble_embedding` per word), in the model's dtype."""
    templates = openai_imagenet_templates() if templates is None else templates
    rows: List[torch.Tensor] = [ensemble_embedding(model, w, templates, device) for w in words]
    return torch.stack(rows, dim=0)


def l2_normalize(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``x / ||x||`` along ``dim`` (the releases' ``x /= x.norm(dim=-1, keepdim=True)``)."""
    return x / x.norm(dim=dim, keepdim=True)


__all__ = ["encode_text", "ensemble_embedding", "l2_normalize", "openai_imagenet_templates", "query_embeddings",
           "tokenize"]
