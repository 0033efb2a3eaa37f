"""CLIP as the baselines' releases use it (NACLIP, Trident), built on open_clip.

* :mod:`.sources`: :func:`build_clip` for the release names (``ViT-B/16`` with OpenAI's weights, the
  other sizes the specs name), their full-size seeded random replicas (``<name>-random``) and the
  offline stand-in ``tiny-random``;
* :mod:`.state_dict`: OpenAI's ``.pt`` files (TorchScript archive or state dict) -> the modules;
* :mod:`.precision`: the releases' fp16 (weights half, LayerNorm in fp32) or fp32 (CPU);
* :mod:`.vision`: patch embedding, the position-embedding interpolation of the specs, the blocks;
* :mod:`.text`: tokenizer, ``encode_text``, the 80 OpenAI ImageNet templates, per-class embeddings.

Plain PyTorch and open_clip; no mm* import. Methods write their own last visual block over
these weights (open_clip's own visual forward is not used).
"""
from .sources import CLIP_ARCHS, LoadedClip, build_clip, clip_names

__all__ = ["CLIP_ARCHS", "LoadedClip", "build_clip", "clip_names"]
