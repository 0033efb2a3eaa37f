"""A registry of model sources, keyed by ``model_version``.

A *source* is a factory ``factory(adaptor_names: list[str]) -> RADIO-like
model`` returning an object that exposes what RADIO_API.md describes
(``model.blocks`` via ``.model``, ``patch_size``, ``adaptors``,
``make_preprocessor_external()``, ``forward -> (summary, features)``). The
library, the configs and ``eval.py`` accept any registered name like a RADIO
version. Tests and benchmarks register seeded random stand-ins this way.

Example::

    from radseg.models import register_model_source

    @register_model_source("my-radio")
    def build(adaptor_names):
        return torch.hub.load("/path/to/RADIO", "radio_model", source="local",
                              version="/ckpt/my.pth.tar", adaptor_names=adaptor_names)

Modules named in ``$RADSEG_PLUGINS`` (comma-separated) are imported before a
lookup, so a subprocess such as ``eval.py`` sees sources registered there.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Dict, List, Optional

from ..errors import ConfigError

_SOURCES: Dict[str, Callable] = {}
_SAM_SOURCES: Dict[str, Callable] = {}
_PLUGINS_LOADED: set = set()

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

    def __init__(self, option_strings, dest, default=False, required=False, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, required=required, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        os.environ[ALLOW_UNPINNED_ENV] = "1"
        setattr(namespace, self.dest, True)


def register_model_source(name: str, factory: Optional[Callable] = None, *, overwrite: bool = False):
    """Register ``factory`` under ``name`` (usable as a decorator)."""
    def _register(fn):
        if name in _SOURCES and not overwrite and _SOURCES[name] is not fn:
            raise ValueError(f"model source '{name}' is already registered")
        _SOURCES[name] = fn
        return fn
    return _register(factory) if factory is not None else _register


def register_sam_source(name: str, factory: Optional[Callable] = None, *, overwrite: bool = False):
    """Register a SAM factory ``factory() -> segment_anything.modeling.Sam`` under ``name``."""
    def _register(fn):
        if name in _SAM_SOURCES and not overwrite and _SAM_SOURCES[name] is not fn:
            raise ValueError(f"SAM source '{name}' is already registered")
        _SAM_SOURCES[name] = fn
        return fn
    return _register(factory) if factory is not None else _register


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
    load_plugins()
    return _SOURCES.get(canonical_name(name))


def get_sam_source(name: str) -> Optional[Callable]:
    load_plugins()
    return _SAM_SOURCES.get(name)


def available_models() -> List[str]:
    load_plugins()
    return sorted(_SOURCES)


def available_sam_models() -> List[str]:
    load_plugins()
    return sorted(_SAM_SOURCES)
