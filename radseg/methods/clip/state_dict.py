"""OpenAI CLIP checkpoints in their official layout -> open_clip modules.

OpenAI's ``ViT-B-16.pt`` is a TorchScript archive whose ``state_dict()`` has the 302 tensors of
open_clip's ``CLIP`` under the same names (plus the integers ``input_resolution``,
``context_length``, ``vocab_size``), stored fp16. ``clip.load(path)`` also accepts a plain
``torch.save``-d state dict, and so does :func:`read_clip_state_dict` (also with a ``state_dict``
wrapper or DataParallel's ``module.`` prefix). open_clip's own checkpoints (ViT-H-14's
``open_clip_pytorch_model.bin``) use the same names.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Dict

import torch
import torch.nn as nn

from ...errors import ConfigError

#: non-tensor entries of OpenAI's archives (dropped, as both official loaders do)
OPENAI_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")


def read_clip_state_dict(path, where: str = "") -> Dict[str, torch.Tensor]:
    """The tensors of a CLIP checkpoint file (TorchScript archive or state dict), on the CPU.

    A missing or unreadable file is one :class:`ConfigError` line naming it (``where``: how to get it).
    """
    p = Path(path).expanduser()
    hint = f" {where}" if where else ""
    if not p.is_file():
        raise ConfigError(f"CLIP weights file {p} does not exist.{hint}")
    state = None
    try:
        with warnings.catch_warnings():  # torch 2.x: "torch.jit.load is deprecated" (OpenAI's files are archives)
            warnings.simplefilter("ignore")
            state = torch.jit.load(str(p), map_location="cpu").state_dict()
    except Exception:  # not a TorchScript archive: a pickled state dict
        try:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
        except Exception as e:
            first = (str(e).splitlines() or [""])[0][:160]
            raise ConfigError(f"cannot read CLIP weights {p}: {type(e).__name__}: {first}{hint}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConfigError(f"CLIP weights {p} hold a {type(state).__name__}, not a state dict.{hint}")
    out = {}
    for k, v in state.items():
        k = k[len("module."):] if k.startswith("module.") else k
        if k in OPENAI_EXTRA_KEYS or not isinstance(v, torch.Tensor):
            continue
        out[k] = v
    return out


def load_clip_weights(model: nn.Module, state: Dict[str, torch.Tensor], source: str) -> nn.Module:
    """Copy ``state`` into ``model`` (fp16 tensors are upcast exactly into the fp32 parameters).

    Missing, unexpected or mis-shaped tensors are one :class:`ConfigError` line naming ``source``.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} of another shape (e.g. {k}: {tuple(state[k].shape)} vs "
                         f"{tuple(own[k].shape)})")
        raise ConfigError(f"CLIP weights {source} do not fit this architecture: {'; '.join(parts)}. "
                          f"Check the model name matches the checkpoint.")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)
    return model
