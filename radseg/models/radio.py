"""Loading RADIO with its language and SAM adaptors (RADIO_API.md).

Sources, tried as the user asks:

* ``hub`` (default): the NVlabs/RADIO code at the pinned commit
  :data:`DEFAULT_HUB_REVISION` (so results do not drift upstream), fetched once into
  torch.hub's cache folder under torch.hub's own name (``<hub dir>/NVlabs_RADIO_<commit>``)
  and loaded with ``torch.hub.load(<that folder>, "radio_model", source="local", ...)``.
  The pinned commit is the trust decision: the repo is *not* added to torch.hub's
  ``trusted_list`` (``trust_repo=True`` would add it for every later use). Without a
  network and without the cached code, the loader fails at once with one message (no
  torch.hub ``Downloading:`` line before it);
* ``local``: a local clone of NVlabs/RADIO (``--radio_repo`` or
  ``$RADSEG_RADIO_REPO``), ``torch.hub.load(..., source="local")``; the
  air-gapped route;
* ``hf``: ``transformers.AutoModel.from_pretrained("nvidia/C-RADIOv3-B", ...)``, which runs
  the model repo's code (``trust_remote_code``): a 40-hex commit is required as the
  revision (``--radio_revision``), unless ``--allow-unpinned`` / ``$RADSEG_ALLOW_UNPINNED=1``
  (recorded in the result). A ``--radio_revision`` for ``hub`` must be a commit too;
* a path to a ``.pth.tar`` checkpoint as ``model_version`` (loaded through
  the hub code, from the pinned revision or the local clone);
* any name registered with :func:`radseg.models.register_model_source`.

:func:`build_radio` returns a :class:`RadioBundle`: the backbone in eval mode
with its input conditioner made external and its adaptors detached (so a
forward returns only ``(summary, features)``), plus references to the
language adaptor and (if asked) the ``sam`` adaptor.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from ..config import RADSegConfig
from ..errors import UnknownModelError, UnpinnedRevisionError, WeightsNotFoundError
from .registry import (
    SourceRequest,
    allow_unpinned_default,
    available_models,
    canonical_name,
    declare_model_kind,
    get_model_source,
    register_model_source,
)

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
    # C-RADIOv4 (docs/RADIO_V4.md; per-version facts in radseg/models/versions.py)
    "c-radio_v4-so400m": "nvidia/C-RADIOv4-SO400M", "c-radio_v4-h": "nvidia/C-RADIOv4-H",
}
RADIO_VERSIONS = tuple(HF_REPOS)
DEFAULT_HF_REVISION = "main"  # used only with --allow-unpinned and no --radio_revision
SOURCES = ("hub", "local", "hf")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def is_pinned(revision: Optional[str]) -> bool:
    """True for a full 40-hex git commit (a branch or tag can move; a commit cannot)."""
    return bool(revision) and bool(_COMMIT.match(str(revision).strip().lower()))


def check_pinned(source: Optional[str], revision: Optional[str], allow_unpinned: Optional[bool] = None,
                 repo_dir: Optional[str] = None, version: str = "c-radio_v3-b") -> None:
    """Refuse to run remote RADIO code from a revision that is not a commit.

    ``hf`` needs ``revision`` (a 40-hex commit); ``hub`` takes the pinned default or a
    commit; ``local`` (a clone the user holds) is not checked. ``allow_unpinned`` (or
    ``$RADSEG_ALLOW_UNPINNED=1``) lifts the check. Raises :class:`UnpinnedRevisionError`.
    """
    if allow_unpinned or allow_unpinned_default():
        return
    source = source or os.environ.get("RADSEG_RADIO_SOURCE") or "hub"
    repo_dir = repo_dir or os.environ.get("RADSEG_RADIO_REPO") or None
    if source == "local" or (source == "hub" and repo_dir):
        return
    if source == "hf":
        repo = HF_REPOS.get(canonical_name(version), version)
        if not revision:
            raise UnpinnedRevisionError(
                f"--radio_source hf runs the Python code of the Hugging Face repo '{repo}' "
                f"(trust_remote_code), so it needs a pinned commit: pass --radio_revision with the full "
                f"40-hex commit of '{repo}' you have reviewed (the repo's history lists them).")
        if not is_pinned(revision):
            raise UnpinnedRevisionError(
                f"--radio_revision '{revision}' is not a 40-hex commit: with --radio_source hf the code of "
                f"'{repo}' at that branch or tag would run, and it can change. Pass the full commit hash.")
    elif source == "hub" and revision and not is_pinned(revision):
        raise UnpinnedRevisionError(
            f"--radio_revision '{revision}' is not a 40-hex commit: the NVlabs/RADIO code at that branch or "
            f"tag would run, and it can change. Pass a full commit hash, or leave --radio_revision out for "
            f"the pinned {DEFAULT_HUB_REVISION[:7]}.")


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
        f"To get them: run once with network access (the code and weights are cached under {hub_dir}; "
        f"$TORCH_HOME moves it), or offline pass --radio_repo with a clone of "
        f"https://github.com/NVlabs/RADIO and --model_version /path/to/{version}.pth.tar. "
        f"To try the toolkit now: --model_version tiny-random (a built-in stand-in with random weights).")


def _cause(e: BaseException) -> str:
    """A short reason for a failed load, saying 'no network' for network errors."""
    import socket
    import urllib.error
    reason = getattr(e, "reason", None)
    msg = str(reason if reason is not None else e).strip()
    msg = msg.splitlines()[0].rstrip(".") if msg else type(e).__name__
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {msg}"
    if isinstance(e, (urllib.error.URLError, socket.error, ConnectionError, TimeoutError)):
        return f"no network? ({msg})"
    return f"{type(e).__name__}: {msg}"


@contextlib.contextmanager
def _held_download_notices():
    """Hold back torch.hub's ``Downloading: ...`` lines until more output shows the download
    is under way (its progress bar); drop them if the block fails (offline: the error says
    what was tried, with no stray line before it)."""
    real_out, real_err = sys.stdout, sys.stderr
    held = []

    def release():
        while held:
            real_out.write(held.pop(0))

    class _Stream:
        def __init__(self, real):
            self._real = real

        def write(self, text):
            if isinstance(text, str) and text.startswith("Downloading: "):
                held.append(text)
                return len(text)
            release()
            return self._real.write(text)

        def __getattr__(self, name):
            return getattr(self._real, name)

    sys.stdout, sys.stderr = _Stream(real_out), _Stream(real_err)
    ok = False
    try:
        yield
        ok = True
    finally:
        sys.stdout, sys.stderr = real_out, real_err
        if ok:
            release()


def hub_code_dir(revision: str) -> str:
    """torch.hub's cache folder for ``NVlabs/RADIO`` at ``revision`` (torch.hub's own naming)."""
    owner, name = HUB_REPO.split("/")
    return os.path.join(torch.hub.get_dir(), f"{owner}_{name}_{revision.replace('/', '_')}")


def fetch_hub_code(revision: str) -> str:
    """The NVlabs/RADIO code at ``revision`` in torch.hub's cache, fetched from GitHub if absent.

    Unlike ``torch.hub.load("NVlabs/RADIO:<rev>", trust_repo=True)`` this leaves torch.hub's
    ``trusted_list`` alone and prints nothing; network errors propagate (the caller turns them
    into one message).
    """
    repo_dir = hub_code_dir(revision)
    if os.path.isdir(repo_dir):
        return repo_dir
    hub_dir = torch.hub.get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".radseg-fetch-", dir=hub_dir)
    try:
        archive = os.path.join(work, "code.zip")
        torch.hub.download_url_to_file(f"https://github.com/{HUB_REPO}/zipball/{revision}", archive,
                                       progress=False)
        out = os.path.join(work, "x")
        with zipfile.ZipFile(archive) as z:
            root = os.path.realpath(out)
            for member in z.namelist():  # no member may land outside the extraction folder
                target = os.path.realpath(os.path.join(out, member))
                if os.path.commonpath([root, target]) != root:
                    raise WeightsNotFoundError(f"the NVlabs/RADIO archive for {revision} holds an unsafe path "
                                               f"'{member}'; not extracted.")
            z.extractall(out)
        tops = os.listdir(out)
        if len(tops) != 1:
            raise WeightsNotFoundError(f"the NVlabs/RADIO archive for {revision} is not one folder.")
        try:
            os.replace(os.path.join(out, tops[0]), repo_dir)
        except OSError:
            if not os.path.isdir(repo_dir):  # else another process fetched it meanwhile
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return repo_dir


def _load_hub(version: str, adaptor_names, revision: str, repo_dir: Optional[str], **hub_kwargs):
    if repo_dir:
        if not os.path.isdir(repo_dir):
            raise WeightsNotFoundError(
                f"RADIO repo clone '{repo_dir}' (from --radio_repo / $RADSEG_RADIO_REPO) is not a "
                f"folder. Clone https://github.com/NVlabs/RADIO there or unset it.")
        with _held_download_notices():
            return torch.hub.load(repo_dir, "radio_model", source="local", version=version,
                                  progress=True, adaptor_names=adaptor_names, **hub_kwargs), f"local:{repo_dir}"
    code = fetch_hub_code(revision)
    with _held_download_notices():
        return torch.hub.load(code, "radio_model", source="local", version=version, progress=True,
                              adaptor_names=adaptor_names, **hub_kwargs), revision


def _load_hf(version: str, adaptor_names, revision: str, **hub_kwargs):
    from transformers import AutoModel
    repo = HF_REPOS.get(version, version)
    hf_log = logging.getLogger("huggingface_hub")
    level = hf_log.level
    hf_log.setLevel(logging.ERROR)  # one clear error instead of a retry log per attempt
    try:
        m = AutoModel.from_pretrained(repo, trust_remote_code=True, revision=revision,
                                      adaptor_names=adaptor_names, **hub_kwargs)
    finally:
        hf_log.setLevel(level)
    resolved = getattr(getattr(m, "config", None), "_commit_hash", None) or revision
    return getattr(m, "radio_model", m), resolved


def load_radio_raw(version: str, adaptor_names, source: str = "hub", revision: Optional[str] = None,
                   repo_dir: Optional[str] = None, allow_unpinned: Optional[bool] = None, **hub_kwargs):
    """Load a real RADIO model (adaptors attached). Returns ``(model, info)``.

    ``hub_kwargs`` (e.g. ``vitdet_window_size``) go to RADIO's ``radio_model`` / HF config.

    Raises :class:`WeightsNotFoundError` (what was tried and how to fix it),
    :class:`UnknownModelError` (unknown adaptor name) or :class:`UnpinnedRevisionError`.
    """
    repo_dir = repo_dir or os.environ.get("RADSEG_RADIO_REPO") or None
    if repo_dir and source == "hub":
        source = "local"
    if source not in SOURCES:
        raise UnknownModelError(f"unknown RADIO source '{source}'; use one of {', '.join(SOURCES)}.")
    check_pinned(source, revision, allow_unpinned, repo_dir, version)
    unpinned = source != "local" and not is_pinned(revision or (DEFAULT_HUB_REVISION if source == "hub" else None))
    if source == "local" and not repo_dir:
        raise WeightsNotFoundError("--radio_source local needs a clone of https://github.com/NVlabs/RADIO: "
                                   "pass --radio_repo PATH (or set $RADSEG_RADIO_REPO).")
    if source == "hf":
        revision = revision or DEFAULT_HF_REVISION
        tried = f"Hugging Face '{HF_REPOS.get(version, version)}' at revision {revision}"
    elif source == "local":
        tried = f"torch.hub local clone '{repo_dir}' (version={version})"
    else:
        from .versions import default_hub_revision  # C-RADIOv4 needs a later pin than the default
        revision = revision or default_hub_revision(version) or DEFAULT_HUB_REVISION
        tried = f"torch.hub '{HUB_REPO}:{revision}' (version={version})"
    try:
        if source == "hf":
            model, rev = _load_hf(version, adaptor_names, revision, **hub_kwargs)
        else:
            model, rev = _load_hub(version, adaptor_names, revision, repo_dir if source == "local" else None,
                                   **hub_kwargs)
    except (WeightsNotFoundError, UnknownModelError):
        raise
    except ValueError as e:
        if "adaptor" in str(e).lower():
            raise UnknownModelError(
                f"RADIO '{version}' has no adaptor among {adaptor_names}: {e}. For C-RADIOv3 "
                f"use --lang_model siglip2 (or siglip2-g / clip); SAM refinement needs the 'sam' "
                f"adaptor.") from None
        raise WeightsNotFoundError(f"could not load RADIO weights: tried {tried}: {_cause(e)}. "
                                   + _weights_help(version)) from None
    except Exception as e:  # network errors, missing files, HTTP errors, unpickling errors
        raise WeightsNotFoundError(f"could not load RADIO weights: tried {tried}: {_cause(e)}. "
                                   + _weights_help(version)) from None
    info = {"source": source, "revision": rev}
    if unpinned:
        info["unpinned_revision"] = revision or DEFAULT_HF_REVISION
    return model, info


def _real_source(version: str):
    """The source of a RADIO version or checkpoint path: torch.hub (pinned), a local clone or HF."""
    def factory(request: SourceRequest):
        hub_kwargs = {} if request.vitdet_window_size is None else {"vitdet_window_size": request.vitdet_window_size}
        return load_radio_raw(version, list(request.adaptor_names),
                              request.source or os.environ.get("RADSEG_RADIO_SOURCE", "hub"),
                              request.revision, request.repo_dir, request.allow_unpinned, **hub_kwargs)
    factory.radio_version = version
    return factory


for _v in RADIO_VERSIONS:
    register_model_source(_v, _real_source(_v))
    declare_model_kind(_v, "RADIO", False, None, f"NVIDIA {HF_REPOS[_v].split('/')[1]}")


def prepare_radio(model: nn.Module, lang_model: str, need_sam: bool) -> RadioBundle:
    """Eval mode, external preprocessor, adaptors kept then detached."""
    model.eval()
    input_stats = None
    if hasattr(model, "make_preprocessor_external"):
        from .versions import adapt_input_conditioner  # C-RADIOv4: statistics read from the model
        input_stats = adapt_input_conditioner(model, model.make_preprocessor_external())
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
    bundle = RadioBundle(model=model, lang_adaptor=lang, sam_adaptor=sam)
    if input_stats:
        bundle.info.update(input_stats)
    return bundle


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


def build_radio(model_version: str = RADSegConfig.model_version, lang_model: Optional[str] = None, *,
                need_sam: bool = False, device="cpu", source: Optional[str] = None,
                revision: Optional[str] = None, repo_dir: Optional[str] = None,
                allow_unpinned: Optional[bool] = None, vitdet_window_size: Optional[int] = None) -> RadioBundle:
    """Build a prepared :class:`RadioBundle` for ``model_version``.

    ``lang_model`` ``None`` is the version's own adaptor (``siglip2``; ``siglip2-g`` on
    C-RADIOv4), see :mod:`radseg.models.versions`, as is the ``sam`` adaptor request (only
    with ``need_sam`` and only on versions that have one; on C-RADIOv4 RADSeg+ runs SAM's
    own image encoder). ``vitdet_window_size``: ViTDet windowed attention (C-RADIOv4 only).

    ``model_version`` is a registered name (RADIO versions, stand-ins, plugins),
    an alias (``radio_v3-b``), or a path to a local ``.pth.tar`` checkpoint.
    ``allow_unpinned`` (default ``$RADSEG_ALLOW_UNPINNED``) lets remote code run from a
    revision that is not a commit (see :func:`check_pinned`).
    """
    from . import versions
    name = canonical_name(model_version)
    factory = resolve_model_source(model_version)
    lang_model = versions.resolve_lang_model(name, lang_model)
    sam_adaptor = versions.wants_sam_adaptor(name, need_sam)
    load_kw = {}
    if versions.check_vitdet(name, vitdet_window_size) is not None:
        load_kw["vitdet_window_size"] = int(vitdet_window_size)
    adaptor_names = [lang_model] + (["sam"] if sam_adaptor else [])
    info = {"model_version": name, "lang_model": lang_model, **load_kw}
    request = SourceRequest(tuple(adaptor_names), source=source, revision=revision, repo_dir=repo_dir,
                            allow_unpinned=allow_unpinned, vitdet_window_size=load_kw.get("vitdet_window_size"))
    try:
        out = factory(request)
    except ValueError as e:
        if "adaptor" not in str(e).lower():
            raise
        raise UnknownModelError(f"'{name}' has no adaptor among {adaptor_names}: {e}. "
                                f"Pick --lang_model from the adaptors it lists.") from None
    model, extra = out if isinstance(out, tuple) else (out, {"source": "registry", "revision": None})
    bundle = prepare_radio(model, lang_model, sam_adaptor)
    bundle.info = {**info, **extra, **bundle.info, "backbone": versions.model_facts(bundle.model)}
    if need_sam:
        bundle.info["sam_embedding"] = versions.SAM_VIA_ADAPTOR if sam_adaptor else versions.SAM_VIA_TRUNK
    bundle.model.to(device)
    return bundle
