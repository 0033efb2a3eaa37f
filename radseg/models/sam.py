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

Before loading, the file's digests are checked whatever it is called
(:func:`verify_checkpoint`): for ``vit_h`` (and ``vit_l``/``vit_b``) it must be the
official checkpoint (Meta's ``4b8939`` in ``sam_vit_h_4b8939.pth`` is the start of its
MD5; its SHA-256 starts with ``a7bf3b02``), unless the file name carries its own
SHA-256 prefix in torch.hub's convention (``name_<hex>.pth`` or ``name-<hex>.pth``, at
least 6 hex digits), which is then checked instead (your own SAM weights). A truncated
download gives a clear :class:`~radseg.errors.WeightsNotFoundError`, not an unpickling
traceback. Digests are cached by (path, size, modification time) in
``$RADSEG_CACHE_DIR/sam_digests.json``, so a 2.4 GB file is read once.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from ..errors import UnknownModelError, WeightsNotFoundError
from .registry import SourceRequest, available_sam_models, declare_sam_kind, get_sam_source, register_sam_source

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
_VERIFIED: Dict[Tuple[str, int, int], Dict[str, str]] = {}  # (realpath, size, mtime_ns) -> digests
#: Meta's published checkpoints: the hex in their names starts their MD5 (the ViT-H file's
#: SHA-256 starts with a7bf3b02). Either digest identifies the official file.
OFFICIAL_SAM = {
    "vit_h": {"name": "sam_vit_h_4b8939.pth", "md5": "4b8939", "sha256": "a7bf3b02"},
    "vit_l": {"name": "sam_vit_l_0b3195.pth", "md5": "0b3195", "sha256": None},
    "vit_b": {"name": "sam_vit_b_01ec64.pth", "md5": "01ec64", "sha256": None},
}
DIGEST_CACHE_FILE = "sam_digests.json"


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


register_sam_source("tiny-random-sam", lambda request: build_tiny_sam(seed=0))
declare_sam_kind("tiny-random-sam", "stand-in", True, "tiny SAM stand-in, seeded random")


def hash_prefix(path) -> Optional[str]:
    """The torch.hub-style hex hash prefix in a file name (``sam_vit_h_4b8939.pth`` -> ``4b8939``), or None."""
    stem = os.path.basename(str(path)).split(".")[0]
    m = _HASH_SUFFIX.search(stem)
    return m.group(1) if m else None


def sha256_file(path, chunk_size: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    return file_digests(path, chunk_size)["sha256"]


def file_digests(path, chunk_size: int = 1 << 22) -> Dict[str, str]:
    """``{"sha256": hex, "md5": hex}`` of a file, in one pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            sha.update(chunk)
            md5.update(chunk)
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest()}


def _digest_cache_path() -> Path:
    from ..cache import cache_dir
    return cache_dir() / DIGEST_CACHE_FILE


def checkpoint_digests(path) -> Dict[str, str]:
    """:func:`file_digests`, cached by (real path, size, mtime) in memory and in
    ``$RADSEG_CACHE_DIR/sam_digests.json`` (a changed file is hashed again)."""
    st = os.stat(path)
    real = os.path.realpath(path)
    key = (real, st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return _VERIFIED[key]
    skey = f"{real}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = _digest_cache_path()
    try:
        table = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(table, dict):
            table = {}
    except (OSError, ValueError):
        table = {}
    hit = table.get(skey)
    if isinstance(hit, dict) and isinstance(hit.get("sha256"), str) and isinstance(hit.get("md5"), str):
        _VERIFIED[key] = {"sha256": hit["sha256"], "md5": hit["md5"]}
        return _VERIFIED[key]
    digests = file_digests(path)
    _VERIFIED[key] = digests
    table = {k: v for k, v in table.items() if not k.startswith(real + "|")}  # drop stale entries
    table[skey] = digests
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(list(table.items())[-256:]), indent=1), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:  # a read-only cache: the in-process memory still saves a second read
        pass
    return digests


def _is_official(digests: Dict[str, str], official: dict) -> bool:
    return (digests["md5"].startswith(official["md5"]) or digests["sha256"].startswith(official["md5"])
            or bool(official["sha256"] and digests["sha256"].startswith(official["sha256"])))


def verify_checkpoint(path, model_type: str = "vit_h") -> None:
    """Raise :class:`WeightsNotFoundError` unless ``path`` holds the expected bytes.

    Whatever the file is called: for ``vit_h``/``vit_l``/``vit_b`` it must be Meta's
    official checkpoint (:data:`OFFICIAL_SAM`), or carry its own SHA-256 prefix in its
    name (torch.hub's ``name_<hex>.pth``; your own weights). Other model types are
    checked only against such a prefix. Digests are cached (:func:`checkpoint_digests`).
    """
    official = OFFICIAL_SAM.get("vit_h" if model_type == "default" else model_type)
    prefix = hash_prefix(path)
    if official is None and prefix is None:
        return
    digests = checkpoint_digests(path)
    if official is not None and _is_official(digests, official):
        return
    if prefix is not None and digests["sha256"].startswith(prefix):
        return
    if official is not None and prefix == official["md5"]:  # Meta's name, other bytes
        raise WeightsNotFoundError(
            f"SAM checkpoint '{path}' is corrupt or incomplete (its md5 starts with {digests['md5'][:len(prefix)]}, "
            f"expected {prefix}); {_FIX}.")
    if prefix is not None:
        raise WeightsNotFoundError(
            f"SAM checkpoint '{path}' is corrupt or incomplete (sha256 starts with {digests['sha256'][:len(prefix)]}, "
            f"expected {prefix}); {_FIX} (or, if '{prefix}' in its name is not a hash, rename it).")
    raise WeightsNotFoundError(
        f"SAM checkpoint '{path}' is not the official SAM {model_type} checkpoint {official['name']} (its sha256 "
        f"starts with {digests['sha256'][:8]}): it is incomplete or another file. Download {SAM_URL}; for your own "
        f"SAM weights put the first 8 hex digits of the file's SHA-256 in its name (e.g. my_sam_"
        f"{digests['sha256'][:8]}.pth) or register them with radseg.models.register_sam_source.")


def search_locations(name: str = DEFAULT_SAM_CHECKPOINT) -> List[Path]:
    """Folders-then-name candidates of steps 3-5 of the module docstring."""
    from ..cache import cache_dir
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


def resolve_sam(checkpoint: Optional[str] = None, model_type: str = "vit_h",
                model_version: Optional[str] = None) -> str:
    """The one SAM resolver: a registered SAM source name as given, else the checkpoint's
    path, found (module docstring order) and its digest verified. Loads no weights, so
    entry points call it to fail fast. Raises :class:`WeightsNotFoundError`; when no
    checkpoint is found and ``model_version`` is a stand-in that declares a matching stand-in
    SAM (``tiny-random`` -> ``tiny-random-sam``), the message names it."""
    if checkpoint and get_sam_source(str(checkpoint)) is not None:
        return str(checkpoint)
    try:
        path = find_checkpoint(checkpoint)
    except WeightsNotFoundError as e:
        from .registry import model_kind
        kind = model_kind(model_version)
        if kind is None or not kind.matching_sam:
            raise
        raise WeightsNotFoundError(
            f"{e} With the random stand-in '{model_version}', pass --sam_ckpt {kind.matching_sam} (its matching "
            f"stand-in SAM; Python: sam_ckpt='{kind.matching_sam}').") from None
    verify_checkpoint(path, model_type)
    check_container(path)
    return str(path)


def check_container(path) -> None:
    """Cheaply: the file is a PyTorch checkpoint (torch's zip format or a legacy pickle)."""
    import zipfile
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        ok = zipfile.is_zipfile(path) or head[:1] == b"\x80"
    except OSError as e:
        raise WeightsNotFoundError(f"cannot read SAM checkpoint '{path}': {e.strerror}.") from None
    if not ok:
        raise WeightsNotFoundError(
            f"SAM checkpoint '{path}' is not a PyTorch checkpoint (truncated, corrupt or the wrong file): "
            f"download {SAM_URL} again.")


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
    resolved = resolve_sam(checkpoint, model_type)
    factory = get_sam_source(resolved)
    if factory is not None:
        sam = factory(SourceRequest(model_type=model_type)).eval().to(device)
        sam.radseg_checkpoint = resolved  # where radseg.core.sam_trunk loads the trunk from (C-RADIOv4)
        return sam
    path = Path(resolved)
    sam = build_sam_parts(model_type)
    load_sam_state(sam, _read_state_dict(path), origin=f"checkpoint '{path}'", model_type=model_type)
    sam.radseg_checkpoint = str(path)  # where radseg.core.sam_trunk loads the trunk from (C-RADIOv4)
    return sam.to(device)
