"""Registries of model sources: RADIO-like backbones by ``model_version``, SAM by name.

A *source* is a factory with one signature for both registries::

    factory(request: SourceRequest) -> model            # or (model, info dict)

``request.adaptor_names`` (RADIO) and ``request.model_type`` (SAM) say what to
build; a real RADIO source also reads where its weights come from
(``source``/``revision``/``repo_dir``/``allow_unpinned``) and load options
(``vitdet_window_size``); a factory reads what applies to it and ignores the
rest. A RADIO source returns an object exposing what RADIO_API.md describes
(``model.blocks`` via ``.model``, ``patch_size``, ``adaptors``,
``make_preprocessor_external()``, ``forward -> (summary, features)``); a SAM
source returns a ``segment_anything.modeling.Sam``. The library, the configs and
``eval.py`` accept any registered name like a RADIO version. Tests and
benchmarks register seeded random stand-ins this way.

Example::

    from radseg.models import register_model_source

    @register_model_source("my-radio")
    def build(request):
        return torch.hub.load("/path/to/RADIO", "radio_model", source="local",
                              version="/ckpt/my.pth.tar", adaptor_names=request.adaptor_names)

Modules named in ``$RADSEG_PLUGINS`` (comma-separated) are imported before a
lookup, so a subprocess such as ``eval.py`` sees sources registered there.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from ..errors import ConfigError

_PLUGINS_LOADED: set = set()


@dataclass(frozen=True)
class SourceRequest:
    """What a source factory is asked to build (see the module docstring).

    ``adaptor_names``: RADIO adaptors to attach (the language adaptor first, ``sam``
    for RADSeg+); ``source``/``revision``/``repo_dir``/``allow_unpinned``: where real
    RADIO weights and code come from (``None``: the defaults of
    :mod:`radseg.models.radio`); ``vitdet_window_size``: ViTDet attention (C-RADIOv4);
    ``model_type``: the SAM variant (``vit_h`` for RADIO's ``sam`` adaptor).
    """
    adaptor_names: Tuple[str, ...] = ()
    source: Optional[str] = None
    revision: Optional[str] = None
    repo_dir: Optional[str] = None
    allow_unpinned: Optional[bool] = None
    vitdet_window_size: Optional[int] = None
    model_type: str = "vit_h"


class SourceRegistry:
    """``name -> factory(request: SourceRequest)``; plugins are imported before each lookup."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: Dict[str, Callable] = {}

    def register(self, name: str, factory: Optional[Callable] = None, *, overwrite: bool = False) -> Callable:
        """Register ``factory`` under ``name`` (usable as a decorator)."""
        def _register(fn):
            if name in self._factories and not overwrite and self._factories[name] is not fn:
                raise ValueError(f"{self.kind} source '{name}' is already registered")
            self._factories[name] = fn
            return fn
        return _register(factory) if factory is not None else _register

    def get(self, name: str) -> Optional[Callable]:
        load_plugins()
        return self._factories.get(name)

    def names(self) -> List[str]:
        load_plugins()
        return sorted(self._factories)


#: RADIO-like backbones by model_version (RADIO versions, stand-ins, replicas, plugins).
MODEL_SOURCES = SourceRegistry("model")
#: SAM models by name (stand-ins, replicas, plugins); checkpoint files need no entry.
SAM_SOURCES = SourceRegistry("SAM")

#: spellings accepted for convenience -> canonical name (a notice is printed).
ALIASES = {"radio_v3-b": "c-radio_v3-b", "radio_v3-l": "c-radio_v3-l",
           "radio_v3-h": "c-radio_v3-h", "radio_v3-g": "c-radio_v3-g"}


#: set to 1 by ``--allow-unpinned``: remote RADIO code may come from a branch or tag (recorded).
ALLOW_UNPINNED_ENV = "RADSEG_ALLOW_UNPINNED"


def allow_unpinned_default() -> bool:
    """``$RADSEG_ALLOW_UNPINNED`` set to 1/true/yes."""
    return os.environ.get(ALLOW_UNPINNED_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class AllowUnpinnedAction(argparse.Action):
    """``--allow-unpinned``: store True and set ``$RADSEG_ALLOW_UNPINNED=1``, so the loaders
    (and subprocesses such as the sweep's eval.py runs) accept an unpinned RADIO revision."""

    def __init__(self, option_strings, dest, default=None, required=False, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, required=required, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        os.environ[ALLOW_UNPINNED_ENV] = "1"
        setattr(namespace, self.dest, True)


def register_model_source(name: str, factory: Optional[Callable] = None, *, overwrite: bool = False) -> Callable:
    """Register a RADIO-like source ``factory(request) -> model`` under ``name`` (a decorator too)."""
    return MODEL_SOURCES.register(name, factory, overwrite=overwrite)


def register_sam_source(name: str, factory: Optional[Callable] = None, *, overwrite: bool = False) -> Callable:
    """Register a SAM source ``factory(request) -> segment_anything.modeling.Sam`` under ``name``."""
    return SAM_SOURCES.register(name, factory, overwrite=overwrite)


def load_plugins(modules: Optional[List[str]] = None) -> None:
    """Import plugin modules (and those in ``$RADSEG_PLUGINS``) that register sources."""
    names = list(modules or [])
    names += [m.strip() for m in os.environ.get("RADSEG_PLUGINS", "").split(",") if m.strip()]
    if names and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `--plugin my_models` finds ./my_models.py, as python -m does
    for mod in names:
        if mod in _PLUGINS_LOADED:
            continue
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise ConfigError(
                f"cannot import plugin module '{mod}' ({e}). Check $RADSEG_PLUGINS / --plugin "
                f"and that the module is on PYTHONPATH.") from None
        _PLUGINS_LOADED.add(mod)


def canonical_name(name: str) -> str:
    return ALIASES.get(name, name)


def get_model_source(name: str) -> Optional[Callable]:
    return MODEL_SOURCES.get(canonical_name(name))


def get_sam_source(name: str) -> Optional[Callable]:
    return SAM_SOURCES.get(name)


def available_models() -> List[str]:
    return MODEL_SOURCES.names()


def available_sam_models() -> List[str]:
    return SAM_SOURCES.names()


# -- what each source declares about its weights ----------------------------------------------------

@dataclass(frozen=True)
class SourceKind:
    """What a registered source says about itself (``radseg models``, honest result labels).

    ``kind``: ``"RADIO"`` (a real RADIO version), ``"stand-in"`` (tiny, seeded random),
    ``"replica"`` (real architecture, seeded random weights), ``"SAM"`` (real SAM weights) or
    ``"plugin"`` (registered by user code, undeclared). ``random_weights``: its numbers mean
    nothing (stand-ins, replicas). ``matching_sam``: the SAM source that fits a stand-in
    RADIO offline (``tiny-random`` -> ``tiny-random-sam``).
    """
    kind: str
    random_weights: bool
    matching_sam: Optional[str] = None
    description: str = ""


_MODEL_KINDS: Dict[str, SourceKind] = {}
_SAM_KINDS: Dict[str, SourceKind] = {}
#: what a source's ``info`` dict (``bundle.info["weights"]``) says for random weights.
RANDOM_WEIGHTS = "random"


def declare_model_kind(name: str, kind: str, random_weights: bool, matching_sam: Optional[str] = None,
                       description: str = "") -> None:
    """Declare what the model source ``name`` is (call it next to its registration)."""
    _MODEL_KINDS[name] = SourceKind(kind, bool(random_weights), matching_sam, description)


def declare_sam_kind(name: str, kind: str, random_weights: bool, description: str = "") -> None:
    """Declare what the SAM source ``name`` is (call it next to its registration)."""
    _SAM_KINDS[name] = SourceKind(kind, bool(random_weights), None, description)


def model_kind(name: Optional[str]) -> Optional[SourceKind]:
    """The declaration of a model source (aliases resolved); ``None`` for undeclared names and
    checkpoint paths (a RADIO checkpoint file: real weights)."""
    if not name:
        return None
    load_plugins()
    return _MODEL_KINDS.get(canonical_name(str(name)))


def sam_kind(name: Optional[str]) -> Optional[SourceKind]:
    """The declaration of a SAM source; ``None`` for checkpoint files and undeclared names."""
    if not name:
        return None
    load_plugins()
    return _SAM_KINDS.get(str(name))


def random_parts(model_version: Optional[str], sam: Optional[str] = None, info: Optional[dict] = None) -> List[str]:
    """The names among ``model_version`` and ``sam`` whose weights are random (declared, or a
    source whose ``info`` says ``weights: random``); empty for real weights."""
    out = []
    k = model_kind(model_version)
    if (k is not None and k.random_weights) or (info or {}).get("weights") == RANDOM_WEIGHTS:
        out.append(str(model_version))
    s = sam_kind(sam)
    if s is not None and s.random_weights:
        out.append(str(sam))
    return out
