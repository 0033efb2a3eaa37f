"""Loading RADIO with its language and SAM adaptors (RADIO_API.md).

Sources, tried as the user asks:

* ``hub`` (default): ``torch.hub.load("NVlabs/RADIO:<rev>", "radio_model", ...)``,
  pinned to :data:`DEFAULT_HUB_REVISION` so results do not drift upstream;
* ``local``: a local clone of NVlabs/RADIO (``--radio_repo`` or
  ``$RADSEG_RADIO_REPO``), ``torch.hub.load(..., source="local")``; the
  air-gapped route;
* ``hf``: ``transformers.AutoModel.from_pretrained("nvidia/C-RADIOv3-B", ...)``;
* a path to a ``.pth.tar`` checkpoint as ``model_version`` (loaded through
  the hub code, from the pinned revision or the local clone);
* any name registered with :func:`radseg.models.register_model_source`.

:func:`build_radio` returns a :class:`RadioBundle`: the backbone in eval mode
with its input conditioner made external and its adaptors detached (so a
forward returns only ``(summary, features)``), plus references to the
language adaptor and (if asked) the ``sam`` adaptor.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from ..errors import UnknownModelError, WeightsNotFoundError
from .registry import available_models, canonical_name, get_model_source, register_model_source

logger = logging.getLogger(__name__)

HUB_REPO = "NVlabs/RADIO"
#: NVlabs/RADIO main on 2026-01-01, when the RADSeg reference was released.
DEFAULT_HUB_REVISION = "811a7dc8ed9ab65f09376636ea31c5273a2f3678"
#: Hugging Face repo per version. The default HF revision is ``main`` (we know
#: no published commit for these repos); the resolved commit is recorded.
HF_REPOS = {
    "c-radio_v3-b": "nvidia/C-RADIOv3-B", "c-radio_v3-l": "nvidia/C-RADIOv3-L",
    "c-radio_v3-h": "nvidia/C-RADIOv3-H", "c-radio_v3-g": "nvidia/C-RADIOv3-g",
    "radio_v2.5-b": "nvidia/RADIO-B", "radio_v2.5-l": "nvidia/RADIO-L",
    "radio_v2.5-h": "nvidia/RADIO-H", "radio_v2.5-g": "nvidia/RADIO-g",
}
RADIO_VERSIONS = tuple(HF_REPOS)
DEFAULT_HF_REVISION = "main"
SOURCES = ("hub", "local", "hf")


@dataclass
class RadioBundle:
    """A prepared backbone and its adaptors.

    Attributes:
        model: RADIO-like module, eval mode, adaptors detached.
        lang_adaptor: has ``head_mlp``, ``tokenizer``, ``encode_text``.
        sam_adaptor: has ``feat_mlp`` (to SAM trunk width), or ``None``.
        info: provenance written into results records (version, source, revision).
    """
    model: nn.Module
    lang_adaptor: Any
    sam_adaptor: Any = None
    info: Dict[str, Any] = field(default_factory=dict)

    @property
    def patch_size(self) -> int:
        return int(self.model.patch_size)

    @property
    def vit(self) -> nn.Module:
        """The timm ViT whose last block gets SCRA."""
        return self.model.model

    def model_id(self) -> str:
        """Identity string of the text model (cache key of text embeddings)."""
        i = self.info
        return f"{i.get('model_version')}|{i.get('source')}|{i.get('revision')}|{i.get('lang_model')}"


def _weights_help(version: str) -> str:
    hub_dir = torch.hub.get_dir()
    return (
        "Fixes: (1) connect to the internet once so torch.hub can cache the code and weights "
        f"(cache: {hub_dir}, set $TORCH_HOME to move it; Hugging Face files go to $HF_HOME); "
        "(2) offline, clone https://github.com/NVlabs/RADIO and pass --radio_repo PATH "
        "(or set $RADSEG_RADIO_REPO), with the checkpoint in the hub cache or passed as "
        "--model_version /path/to/checkpoint.pth.tar; "
        f"(3) --radio_source hf to load '{HF_REPOS.get(version, 'nvidia/C-RADIOv3-B')}' from Hugging Face.")


def _load_hub(version: str, adaptor_names, revision: str, repo_dir: Optional[str]):
    if repo_dir:
        if not os.path.isdir(repo_dir):
            raise WeightsNotFoundError(
                f"RADIO repo clone '{repo_dir}' (from --radio_repo / $RADSEG_RADIO_REPO) is not a "
                f"folder. Clone https://github.com/NVlabs/RADIO there or unset it.")
        return torch.hub.load(repo_dir, "radio_model", source="local", version=version,
                              progress=True, adaptor_names=adaptor_names), f"local:{repo_dir}"
    ref = f"{HUB_REPO}:{revision}" if revision else HUB_REPO
    return torch.hub.load(ref, "radio_model", version=version, progress=True,
                          skip_validation=True, trust_repo=True, adaptor_names=adaptor_names), revision


def _load_hf(version: str, adaptor_names, revision: str):
    from transformers import AutoModel
    repo = HF_REPOS.get(version, version)
    hf_log = logging.getLogger("huggingface_hub")
    level = hf_log.level
    hf_log.setLevel(logging.ERROR)  # one clear error instead of a retry log per attempt
    try:
        m = AutoModel.from_pretrained(repo, trust_remote_code=True, revision=revision,
                                      adaptor_names=adaptor_names)
    finally:
        hf_log.setLevel(level)
    resolved = getattr(getattr(m, "config", None), "_commit_hash", None) or revision
    return getattr(m, "radio_model", m), resolved


def load_radio_raw(version: str, adaptor_names, source: str = "hub", revision: Optional[str] = None,
                   repo_dir: Optional[str] = None):
    """Load a real RADIO model (adaptors attached). Returns ``(model, info)``.

    Raises :class:`WeightsNotFoundError` (what was tried and how to fix it) or
    :class:`UnknownModelError` (unknown adaptor name).
    """
    repo_dir = repo_dir or os.environ.get("RADSEG_RADIO_REPO") or None
    if repo_dir and source == "hub":
        source = "local"
    if source not in SOURCES:
        raise UnknownModelError(f"unknown RADIO source '{source}'; use one of {', '.join(SOURCES)}.")
    if source == "local" and not repo_dir:
        raise WeightsNotFoundError("--radio_source local needs a clone of https://github.com/NVlabs/RADIO: "
                                   "pass --radio_repo PATH (or set $RADSEG_RADIO_REPO).")
    if source == "hf":
        revision = revision or DEFAULT_HF_REVISION
        tried = f"Hugging Face '{HF_REPOS.get(version, version)}' at revision {revision}"
    elif source == "local":
        tried = f"torch.hub local clone '{repo_dir}' (version={version})"
    else:
        revision = revision or DEFAULT_HUB_REVISION
        tried = f"torch.hub '{HUB_REPO}:{revision}' (version={version})"
    try:
        if source == "hf":
            model, rev = _load_hf(version, adaptor_names, revision)
        else:
            model, rev = _load_hub(version, adaptor_names, revision, repo_dir if source == "local" else None)
    except (WeightsNotFoundError, UnknownModelError):
        raise
    except ValueError as e:
        if "adaptor" in str(e).lower():
            raise UnknownModelError(
                f"RADIO '{version}' has no adaptor among {adaptor_names}: {e}. For C-RADIOv3 "
                f"use --lang_model siglip2 (or siglip2-g / clip); SAM refinement needs the 'sam' "
                f"adaptor.") from None
        raise WeightsNotFoundError(f"could not load RADIO weights: tried {tried}: {e}. "
                                   + _weights_help(version)) from None
    except Exception as e:  # network errors, missing files, HTTP errors, unpickling errors
        msg = str(e).strip().splitlines()[0].rstrip(".") if str(e).strip() else type(e).__name__
        raise WeightsNotFoundError(f"could not load RADIO weights: tried {tried}: "
                                   f"{type(e).__name__}: {msg}. " + _weights_help(version)) from None
    return model, {"source": source, "revision": rev}


def _real_source(version: str):
    def factory(adaptor_names, source="hub", revision=None, repo_dir=None):
        return load_radio_raw(version, adaptor_names, source, revision, repo_dir)
    factory.is_real_radio = True
    return factory


for _v in RADIO_VERSIONS:
    register_model_source(_v, _real_source(_v))


def prepare_radio(model: nn.Module, lang_model: str, need_sam: bool) -> RadioBundle:
    """Eval mode, external preprocessor, adaptors kept then detached."""
    model.eval()
    if hasattr(model, "make_preprocessor_external"):
        model.make_preprocessor_external()
    adaptors = getattr(model, "adaptors", None) or {}
    names = list(adaptors.keys())
    if lang_model not in adaptors:
        raise UnknownModelError(
            f"the model has no '{lang_model}' language adaptor (it has: {', '.join(names) or 'none'}). "
            f"Pick --lang_model from those.")
    sam = adaptors["sam"] if "sam" in adaptors else None
    if need_sam and sam is None:
        raise UnknownModelError(
            f"SAM refinement needs the model's 'sam' adaptor, but it has only: {', '.join(names)}.")
    lang = adaptors[lang_model]
    model.adaptors = None
    return RadioBundle(model=model, lang_adaptor=lang, sam_adaptor=sam)


def resolve_model_source(model_version: str, flag: str = "--model_version"):
    """The factory for a registered name, an alias or an existing checkpoint path.

    Loads nothing, so entry points call it to fail fast; ``flag`` names the setting
    in the error message. Raises :class:`WeightsNotFoundError` for a checkpoint path
    that does not exist, :class:`UnknownModelError` for an unknown name.
    """
    factory = get_model_source(canonical_name(model_version))
    if factory is not None:
        return factory
    path = os.path.expanduser(model_version)
    if os.path.isfile(path):
        return _real_source(path)
    if model_version.endswith((".pth", ".pth.tar", ".pt")):
        raise WeightsNotFoundError(
            f"RADIO checkpoint '{model_version}' does not exist. Check the path, or pass a "
            f"version name ({', '.join(RADIO_VERSIONS)}).")
    raise UnknownModelError(
        f"unknown {flag} '{model_version}'. Known: {', '.join(available_models())} "
        f"(or a path to a RADIO .pth.tar checkpoint; register others with "
        f"radseg.models.register_model_source).")


_PRELOADED: Dict[tuple, RadioBundle] = {}


def _preload_key(model_version, lang_model, need_sam, source, revision, repo_dir) -> tuple:
    return (canonical_name(model_version), lang_model, bool(need_sam), source, revision, repo_dir)


def preload_radio(model_version: str, lang_model: str = "siglip2", *, need_sam: bool = False,
                  source: Optional[str] = None, revision: Optional[str] = None,
                  repo_dir: Optional[str] = None) -> RadioBundle:
    """Build a bundle now (on the CPU) and hand it to the next :func:`build_radio` with the same
    arguments (used by ``eval.py`` to fail on missing weights before the runner starts)."""
    key = _preload_key(model_version, lang_model, need_sam, source, revision, repo_dir)
    if key not in _PRELOADED:
        _PRELOADED[key] = build_radio(model_version, lang_model, need_sam=need_sam, source=source,
                                      revision=revision, repo_dir=repo_dir)
    return _PRELOADED[key]


def build_radio(model_version: str = "c-radio_v3-b", lang_model: str = "siglip2", *,
                need_sam: bool = False, device="cpu", source: Optional[str] = None,
                revision: Optional[str] = None, repo_dir: Optional[str] = None) -> RadioBundle:
    """Build a prepared :class:`RadioBundle` for ``model_version``.

    ``model_version`` is a registered name (RADIO versions, stand-ins, plugins),
    an alias (``radio_v3-b``), or a path to a local ``.pth.tar`` checkpoint.
    """
    key = _preload_key(model_version, lang_model, need_sam, source, revision, repo_dir)
    if key in _PRELOADED:  # handed over once, never shared between two encoders
        bundle = _PRELOADED.pop(key)
        bundle.model.to(device)
        return bundle
    name = canonical_name(model_version)
    factory = resolve_model_source(model_version)
    adaptor_names = [lang_model] + (["sam"] if need_sam else [])
    info = {"model_version": name, "lang_model": lang_model}
    if getattr(factory, "is_real_radio", False):
        model, extra = factory(adaptor_names, source=source or os.environ.get("RADSEG_RADIO_SOURCE", "hub"),
                               revision=revision, repo_dir=repo_dir)
    else:
        try:
            out = factory(adaptor_names)
        except ValueError as e:
            if "adaptor" not in str(e).lower():
                raise
            raise UnknownModelError(f"'{name}' has no adaptor among {adaptor_names}: {e}. "
                                    f"Pick --lang_model from the adaptors it lists.") from None
        model, extra = out if isinstance(out, tuple) else (out, {"source": "registry", "revision": None})
    bundle = prepare_radio(model, lang_model, need_sam)
    bundle.info = {**info, **extra}
    bundle.model.to(device)
    return bundle
