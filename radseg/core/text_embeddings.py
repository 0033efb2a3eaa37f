"""Class text embeddings (ALGORITHM.md section 5).

Each synonym is embedded as the mean of its 80 L2-normalised prompt
embeddings (OpenAI ImageNet templates, from open_clip); the mean is *not*
re-normalised. Results are cached in memory and on disk, keyed by a digest of
the language adaptor's weights (its text tower and projection heads; see
:func:`weights_digest`), the model's identity string, the names and the templates,
so changed weights under the same model name never get stale embeddings.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import weakref
import zlib
from typing import Callable, Dict, List, Sequence, Tuple

import torch

from ..cache import cache_dir

logger = logging.getLogger(__name__)


def default_templates() -> List[Callable[[str], str]]:
    """The 80 OpenAI ImageNet prompt templates as open_clip ships them."""
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES
    return list(OPENAI_IMAGENET_TEMPLATES)


def flatten_synonyms(classes: Sequence[Sequence[str]]) -> Tuple[List[str], List[int]]:
    """``[["sky", "cloud"], ["dog"]]`` -> (``["sky", "cloud", "dog"]``, ``[0, 0, 1]``)."""
    queries, owner = [], []
    for idx, syns in enumerate(classes):
        for s in syns:
            queries.append(s)
            owner.append(idx)
    return queries, owner


#: tensors up to this many bytes go into the SHA-256 as they are; larger ones as their CRC-32
#: (every byte counts; CRC-32 runs at several GB/s where SHA-256 manages well under one).
_INLINE_BYTES = 1 << 18
_DIGESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _modules_of(adaptor) -> List[Tuple[str, torch.nn.Module]]:
    """The adaptor itself if it is a module, else its module attributes (e.g. a text model)."""
    if isinstance(adaptor, torch.nn.Module):
        return [("", adaptor)]
    return sorted((k, v) for k, v in vars(adaptor).items() if isinstance(v, torch.nn.Module))


@torch.no_grad()
def weights_digest(adaptor) -> str:
    """SHA-256 over the language adaptor's tensors (names, shapes, dtypes and values).

    Covers every parameter and buffer of the adaptor (for RADIO's ``siglip2`` adaptor:
    the SigLIP2 text tower, ``head_mlp`` and ``feat_mlp``). Small tensors are hashed
    byte for byte; a large one contributes the CRC-32 of all its bytes, so any changed
    weight changes the digest while a 400M-parameter text tower costs about half a second
    on a CPU. Computed once per process per adaptor object.
    """
    try:
        cached = _DIGESTS.get(adaptor)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None:
        return cached
    h = hashlib.sha256()
    h.update(type(adaptor).__qualname__.encode())
    for prefix, module in _modules_of(adaptor):
        for name, t in sorted(module.state_dict(keep_vars=True).items()):
            if not isinstance(t, torch.Tensor):
                continue
            t = t.detach()
            h.update(f"{prefix}.{name}|{tuple(t.shape)}|{t.dtype}|".encode())
            raw = t.contiguous().reshape(-1).cpu().view(torch.uint8).numpy()
            if raw.nbytes <= _INLINE_BYTES:
                h.update(raw.tobytes())
            else:
                h.update(zlib.crc32(memoryview(raw)).to_bytes(4, "little"))
    digest = h.hexdigest()
    try:
        _DIGESTS[adaptor] = digest
    except TypeError:
        pass
    return digest


class TextEmbedder:
    """Embeds class names with a language adaptor (``tokenizer`` + ``encode_text``).

    Args:
        adaptor: object with ``tokenizer(list[str]) -> BatchEncoding`` and
            ``encode_text(tokens) -> n x C_t``.
        model_id: identity of the text model for the cache key (version,
            revision, adaptor name, or a stand-in's seed).
        templates: prompt templates (callables ``name -> str``).
        disk_cache: also keep embeddings under :func:`cache_dir`.
        batch_size: prompts per ``encode_text`` call.
    """

    _memory: Dict[str, torch.Tensor] = {}

    def __init__(self, adaptor, model_id: str, templates=None, disk_cache: bool = True,
                 batch_size: int = 80):
        self.adaptor = adaptor
        self.model_id = model_id
        self.templates = list(templates) if templates is not None else default_templates()
        self.disk_cache = disk_cache
        self.batch_size = batch_size

    def weights_digest(self) -> str:
        """:func:`weights_digest` of the adaptor (once per process per adaptor object)."""
        return weights_digest(self.adaptor)

    def _key(self, names: Sequence[str]) -> str:
        payload = json.dumps({"model": self.model_id, "weights": self.weights_digest(), "names": list(names),
                              "templates": [t("{}") for t in self.templates]})
        return hashlib.sha256(payload.encode()).hexdigest()

    @torch.no_grad()
    def _embed_one(self, name: str, device: torch.device) -> torch.Tensor:
        texts = [t(name) for t in self.templates]
        chunks = []
        for i in range(0, len(texts), self.batch_size):
            tokens = self.adaptor.tokenizer(texts[i:i + self.batch_size]).to(device)
            chunks.append(self.adaptor.encode_text(tokens).float())
        emb = torch.cat(chunks, 0)
        emb = emb / emb.norm(dim=-1, keepdim=True)
        return emb.mean(dim=0)  # not re-normalised (reference)

    @torch.no_grad()
    def __call__(self, names: Sequence[str], device="cpu") -> torch.Tensor:
        """``Q`` names -> ``Q x C_t`` float32 embeddings on ``device``."""
        device = torch.device(device)
        key = self._key(names)
        if key in self._memory:
            return self._memory[key].to(device)
        path = cache_dir() / "text_embeddings" / f"{key}.pt"
        if self.disk_cache and path.is_file():
            try:
                emb = torch.load(path, map_location="cpu", weights_only=True)
                if emb.shape[0] == len(names):
                    self._memory[key] = emb
                    return emb.to(device)
            except Exception:  # a corrupt cache file is recomputed
                logger.warning("ignoring unreadable text-embedding cache %s", path)
        emb = torch.stack([self._embed_one(n, device) for n in names]).cpu()
        self._memory[key] = emb
        if self.disk_cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                torch.save(emb, tmp)
                os.replace(tmp, path)
            except OSError as e:  # read-only home etc.: the memory cache still works
                logger.warning("could not write text-embedding cache %s: %s", path, e)
        return emb.to(device)
