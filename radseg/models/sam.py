"""Loading SAM for RADSeg+ (ALGORITHM.md section 7): only the parts RADSeg runs.

RADSeg+ uses SAM's image-encoder **neck**, prompt encoder and mask decoder;
the image embedding comes from RADIO's ``sam`` adaptor, so SAM's ViT trunk
(600M parameters for ViT-H) is never built: :func:`load_sam` builds an
``ImageEncoderViT`` with no blocks and no position embedding, and loads only
the checkpoint keys ``image_encoder.neck.*``, ``prompt_encoder.*`` and
``mask_decoder.*`` (strictly: every one of them must be present and fit).

Where the checkpoint is looked up (default file name ``sam_vit_h_4b8939.pth``,
download URL :data:`SAM_URL`), first match wins:

1. the ``checkpoint`` argument: a registered SAM source name (see
   :func:`radseg.models.register_sam_source`, e.g. ``tiny-random-sam``), or a
   path. A path with a folder part is used as is; a bare file name is looked
   for in the folders of steps 3-5;
2. ``$RADSEG_SAM_CKPT`` (a path), when no argument is given;
3. the current working directory;
4. ``$RADSEG_CACHE_DIR/checkpoints`` (default ``~/.cache/radseg/checkpoints``);
5. torch.hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``, default
   ``~/.cache/torch/hub/checkpoints``).

A file name carrying a hash prefix in torch.hub's convention (``name_<hex>.pth``
or ``name-<hex>.pth``, at least 6 hex digits, like ``4b8939``) is checked
against its SHA-256 before loading: a truncated download gives a clear
:class:`~radseg.errors.WeightsNotFoundError`, not an unpickling traceback.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from ..errors import UnknownModelError, WeightsNotFoundError
from .registry import available_sam_models, get_sam_source, register_sam_source

SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth"
DEFAULT_SAM_CHECKPOINT = "sam_vit_h_4b8939.pth"
#: checkpoint key prefixes RADSeg+ needs (the trunk's blocks, patch_embed and pos_embed are not).
KEPT_PREFIXES = ("image_encoder.neck.", "prompt_encoder.", "mask_decoder.")

#: hyper-parameters of ``segment_anything/build_sam.py`` that shape the kept parts.
#: ``trunk_width`` is the neck's input width (the RADIO ``sam`` adaptor's output width).
SAM_ARCHS: Dict[str, dict] = {
    "vit_h": dict(trunk_width=1280, prompt_dim=256, mask_in_chans=16, decoder_depth=2, decoder_mlp=2048,
                  decoder_heads=8, iou_head_depth=3, iou_head_hidden=256),
    "vit_l": dict(trunk_width=1024, prompt_dim=256, mask_in_chans=16, decoder_depth=2, decoder_mlp=2048,
                  decoder_heads=8, iou_head_depth=3, iou_head_hidden=256),
    "vit_b": dict(trunk_width=768, prompt_dim=256, mask_in_chans=16, decoder_depth=2, decoder_mlp=2048,
                  decoder_heads=8, iou_head_depth=3, iou_head_hidden=256),
    # the seeded test double of :func:`build_tiny_sam` (trunk_width may be overridden there)
    "tiny": dict(trunk_width=32, prompt_dim=32, mask_in_chans=4, decoder_depth=1, decoder_mlp=64,
                 decoder_heads=2, iou_head_depth=2, iou_head_hidden=32),
}
SAM_ARCHS["default"] = SAM_ARCHS["vit_h"]

_HASH_SUFFIX = re.compile(r"[_-]([0-9a-f]{6,})$")
_FIX = f"delete it and download again from {SAM_URL}"
_VERIFIED: Dict[Tuple[str, int, int], str] = {}  # (realpath, size, mtime_ns) -> sha256 hex, per process


def build_sam_parts(model_type: str = "vit_h", **overrides):
    """A ``segment_anything.modeling.Sam`` with a trunk-less image encoder (random weights).

    The image encoder is a real ``ImageEncoderViT`` (``img_size`` 1024, patch
    16, so a 64 x 64 embedding) with zero blocks, no patch embedding and no
    absolute position embedding: only its ``neck`` is ever run. ``overrides`` replace entries of
    :data:`SAM_ARCHS` ``[model_type]``.
    """
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
    if model_type not in SAM_ARCHS:
        raise UnknownModelError(f"unknown SAM model_type '{model_type}'; use one of {', '.join(SAM_ARCHS)}.")
    a = {**SAM_ARCHS[model_type], **overrides}
    image_size, patch = 1024, 16
    emb = image_size // patch
    sam = Sam(
        image_encoder=ImageEncoderViT(img_size=image_size, patch_size=patch, embed_dim=a["trunk_width"],
                                      depth=0, num_heads=1, out_chans=a["prompt_dim"], use_abs_pos=False),
        prompt_encoder=PromptEncoder(embed_dim=a["prompt_dim"], image_embedding_size=(emb, emb),
                                     input_image_size=(image_size, image_size),
                                     mask_in_chans=a["mask_in_chans"]),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=a["decoder_depth"], embedding_dim=a["prompt_dim"],
                                          mlp_dim=a["decoder_mlp"], num_heads=a["decoder_heads"]),
            transformer_dim=a["prompt_dim"], iou_head_depth=a["iou_head_depth"],
            iou_head_hidden_dim=a["iou_head_hidden"]),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    # The trunk is never run: drop its patch embedding too, so that calling
    # ``image_encoder(x)`` fails instead of returning an embedding of random weights.
    del sam.image_encoder.patch_embed
    return sam.eval()


def build_tiny_sam(seed: int = 0, trunk_width: int = 32):
    """A seeded tiny random SAM (same seed -> identical weights) for tests and benchmarks.

    Prompt width 32, 64 x 64 embedding for 1024 px input, one decoder layer;
    the neck takes ``trunk_width`` channels (the tiny RADIO ``sam`` adaptor's 32).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_sam_parts("tiny", trunk_width=trunk_width)


register_sam_source("tiny-random-sam", lambda: build_tiny_sam(seed=0))


def hash_prefix(path) -> Optional[str]:
    """The torch.hub-style hex hash prefix in a file name (``sam_vit_h_4b8939.pth`` -> ``4b8939``), or None."""
    stem = os.path.basename(str(path)).split(".")[0]
    m = _HASH_SUFFIX.search(stem)
    return m.group(1) if m else None


def sha256_file(path, chunk_size: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checkpoint(path) -> None:
    """Raise :class:`WeightsNotFoundError` if ``path``'s SHA-256 does not start with its name's hash prefix.

    Files without a hash prefix pass. A verified (path, size, mtime) is remembered for the process.
    """
    prefix = hash_prefix(path)
    if prefix is None:
        return
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    digest = _VERIFIED.get(key) or sha256_file(path)
    if not digest.startswith(prefix):
        raise WeightsNotFoundError(
            f"SAM checkpoint '{path}' is corrupt or incomplete (sha256 starts with {digest[:len(prefix)]}, "
            f"expected {prefix}); {_FIX} (or, if '{prefix}' in its name is not a hash, rename it).")
    _VERIFIED[key] = digest


def search_locations(name: str = DEFAULT_SAM_CHECKPOINT) -> List[Path]:
    """Folders-then-name candidates of steps 3-5 of the module docstring."""
    from ..text_embeddings import cache_dir
    return [Path.cwd() / name, cache_dir() / "checkpoints" / name,
            Path(torch.hub.get_dir()) / "checkpoints" / name]


def find_checkpoint(checkpoint: Optional[str] = None) -> Path:
    """Resolve a SAM checkpoint path (module docstring order) or raise :class:`WeightsNotFoundError`."""
    if checkpoint:
        path = Path(os.path.expanduser(str(checkpoint)))
        if path.is_file():
            return path
        if os.path.dirname(str(checkpoint)):  # a path with a folder part: no search elsewhere
            raise WeightsNotFoundError(
                f"SAM checkpoint '{checkpoint}' does not exist. Check the path, or download "
                f"{SAM_URL} there (known SAM sources: {', '.join(available_sam_models()) or 'none'}).")
        name = path.name
        tried = search_locations(name)
    else:
        env = os.environ.get("RADSEG_SAM_CKPT")
        if env:
            path = Path(os.path.expanduser(env))
            if path.is_file():
                return path
            raise WeightsNotFoundError(
                f"SAM checkpoint '{env}' (from $RADSEG_SAM_CKPT) does not exist. Fix or unset "
                f"$RADSEG_SAM_CKPT, or download {SAM_URL} there.")
        name = DEFAULT_SAM_CHECKPOINT
        tried = search_locations(name)
    for p in tried:
        if p.is_file():
            return p
    raise WeightsNotFoundError(
        f"SAM checkpoint '{name}' not found; looked in: {', '.join(str(p) for p in tried)}. Download "
        f"{SAM_URL} into one of those folders, or pass its path (--sam_ckpt / $RADSEG_SAM_CKPT).")


def _read_state_dict(path: Path) -> dict:
    try:
        try:  # mmap: only the kept tensors are read from disk (the trunk is ~95% of the file)
            sd = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            sd = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except Exception as e:
        # torch's weights-only message leads with advice that does not apply here: keep the cause
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        skip = ("Weights only load failed", "Please file an issue", "Check the documentation")
        msg = next((ln for ln in lines if not ln.startswith(skip)), "")
        raise WeightsNotFoundError(
            f"could not read SAM checkpoint '{path}' ({type(e).__name__}: {msg}); it is corrupt, incomplete "
            f"or not a PyTorch state dict: {_FIX}.") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise WeightsNotFoundError(f"SAM checkpoint '{path}' holds a {type(sd).__name__}, not a state dict: "
                                   f"{_FIX}.")
    return sd


def load_sam_state(sam: nn.Module, state_dict: dict, origin: str = "checkpoint", model_type: str = "vit_h"):
    """Load the kept keys (:data:`KEPT_PREFIXES`) of ``state_dict`` into ``sam``, strictly for those keys."""
    kept = {k: v for k, v in state_dict.items() if k.startswith(KEPT_PREFIXES)}
    expected = {k for k in sam.state_dict() if k.startswith(KEPT_PREFIXES)}
    missing, unexpected = sorted(expected - set(kept)), sorted(set(kept) - expected)
    if missing or unexpected:
        raise WeightsNotFoundError(
            f"SAM {origin} does not fit SAM '{model_type}': missing {missing[:3]}{'...' if len(missing) > 3 else ''}"
            f" ({len(missing)}), unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''} "
            f"({len(unexpected)}). Pass the matching model_type or the ViT-H checkpoint {SAM_URL}.")
    try:
        sam.load_state_dict(kept, strict=False)
    except RuntimeError as e:  # shape mismatches
        first = [ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln][:1]
        raise WeightsNotFoundError(
            f"SAM {origin} does not fit SAM '{model_type}' ({first[0] if first else e}). Pass the matching "
            f"model_type or the ViT-H checkpoint {SAM_URL}.") from None
    return sam


def load_sam(checkpoint: Optional[str] = None, model_type: str = "vit_h", device="cpu"):
    """Build SAM (neck, prompt encoder, mask decoder; no trunk) and load its weights.

    Args:
        checkpoint: a registered SAM source name, a path, a bare file name, or
            ``None`` (look up ``sam_vit_h_4b8939.pth``; see the module docstring).
        model_type: ``vit_h`` (RADIO's ``sam`` adaptor targets ViT-H), ``vit_l``,
            ``vit_b`` or ``tiny``.
        device: where the returned model lives.
    Returns:
        ``segment_anything.modeling.Sam`` in eval mode; ``image_encoder.blocks`` is empty.
    Raises:
        WeightsNotFoundError: missing, corrupt or non-matching checkpoint.
    """
    if checkpoint and get_sam_source(str(checkpoint)) is not None:
        return get_sam_source(str(checkpoint))().eval().to(device)
    path = find_checkpoint(checkpoint)
    verify_checkpoint(path)
    sam = build_sam_parts(model_type)
    load_sam_state(sam, _read_state_dict(path), origin=f"checkpoint '{path}'", model_type=model_type)
    return sam.to(device)
