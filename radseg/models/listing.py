"""``radseg models``: each registered name, what it is (a real RADIO version, a stand-in, a
random replica, a plugin) and whether its weights are on this machine.

"Cached" is looked up without loading anything: a real RADIO version counts as cached when
its Hugging Face repo is in the Hugging Face cache (``$HF_HUB_CACHE``, default
``~/.cache/huggingface/hub``) or a ``<version>*.pth.tar`` lies in torch.hub's checkpoint
folder; the SAM ViT-H checkpoint when :func:`radseg.models.sam.find_checkpoint` finds it.
Built-in stand-ins and replicas need no download.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple

from .registry import available_models, available_sam_models, model_kind, sam_kind


def _hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):  # read now (huggingface_hub reads it once, at import)
        return Path(os.path.expanduser(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        return Path(os.path.expanduser(os.environ["HF_HOME"])) / "hub"
    try:
        from huggingface_hub import constants
        return Path(constants.HF_HUB_CACHE)
    except Exception:  # noqa: BLE001 - no huggingface_hub: its default location
        return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def radio_weights_cached(version: str) -> Optional[str]:
    """Where the weights of a real RADIO version are cached here, or ``None``."""
    import torch

    from .radio import HF_REPOS
    repo = HF_REPOS.get(version)
    if repo:
        d = _hf_cache() / ("models--" + repo.replace("/", "--")) / "snapshots"
        if d.is_dir() and any(d.iterdir()):
            return str(d.parent)
    ck = Path(torch.hub.get_dir()) / "checkpoints"
    if ck.is_dir():
        hits = sorted(p for p in ck.glob(f"{version}*.pth*"))
        if hits:
            return str(hits[0])
    return None


def describe_models() -> List[Tuple[str, str, str]]:
    """``(name, what it is, where its weights are)`` per registered model source."""
    rows = []
    for name in available_models():
        k = model_kind(name)
        if k is None:
            rows.append((name, "plugin (registered by user code; weights unknown)", "-"))
        elif k.random_weights:
            what = f"{k.kind} with random weights" + (f" ({k.description})" if k.description else "")
            if k.matching_sam:
                what += f"; RADSeg+: --sam_ckpt {k.matching_sam}"
            rows.append((name, what, "built in (no download)"))
        else:
            where = radio_weights_cached(name)
            rows.append((name, f"real {k.kind} weights" + (f" ({k.description})" if k.description else ""),
                         f"cached: {where}" if where else "not cached (downloaded on first use)"))
    return rows


def describe_sam() -> List[Tuple[str, str, str]]:
    from ..errors import WeightsNotFoundError
    from .sam import DEFAULT_SAM_CHECKPOINT, find_checkpoint
    try:
        where = f"cached: {find_checkpoint(None)}"
    except WeightsNotFoundError:
        where = "not found here (download it for RADSeg+; see --sam-ckpt)"
    rows = [(DEFAULT_SAM_CHECKPOINT, "real SAM ViT-H weights (Meta's checkpoint file)", where)]
    for name in available_sam_models():
        k = sam_kind(name)
        if k is None:
            rows.append((name, "plugin (registered by user code; weights unknown)", "-"))
        else:
            what = (f"{k.kind} with random weights" if k.random_weights else f"real {k.kind} weights")
            rows.append((name, what + (f" ({k.description})" if k.description else ""), "built in (no download)"))
    return rows


def format_rows(rows: List[Tuple[str, str, str]]) -> List[str]:
    w = max(len(r[0]) for r in rows)
    return [f"  {n:<{w}}  {what}; {where}" for n, what, where in rows]
