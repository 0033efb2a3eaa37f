"""The dataset registry: ``key -> DatasetFacts`` for every benchmark the toolkit knows.

timm-style, like the model and method registries: a module that defines datasets calls
:func:`register_dataset` at import. The built-in families register lazily on the first
lookup (:data:`BUILTIN_DATASET_MODULES`: the 10 benchmarks of :mod:`radseg.presets` and the
25 MESS entries of :mod:`radseg.data.mess`), and a user's own dataset is one more
``register_dataset(DatasetFacts(...))`` (in a ``--plugin`` module, or before the call that
reads it). Every consumer reads the registry: ``RADSegConfig.preset``, the sweep, the
results tables, ``radseg data``, the verifier, ``radseg bench`` (``bench_image_size``,
``present_classes``) and ``radseg export``. docs/ADD_BENCHMARK.md is the checklist.

No torch / mmseg imports: cheap to import from any entry point.
"""
from __future__ import annotations

import importlib
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

from .dataset_facts import GROUPS, DatasetFacts

#: ``key -> facts``, in registration order (the built-in families in :data:`BUILTIN_DATASET_MODULES` order)
_REGISTRY: Dict[str, DatasetFacts] = {}

#: modules that register the built-in datasets (imported on the first lookup, not at start-up)
BUILTIN_DATASET_MODULES: List[str] = ["radseg.presets", "radseg.data.mess"]

_LOADING = False
_LOADED = False


def register_dataset(facts: DatasetFacts, *, overwrite: bool = False) -> DatasetFacts:
    """Register ``facts`` under ``facts.key``; a second, different entry for a key needs ``overwrite``."""
    if not isinstance(facts, DatasetFacts):
        raise TypeError(f"register_dataset takes a DatasetFacts (got {type(facts).__name__})")
    old = _REGISTRY.get(facts.key)
    if old is not None and old != facts and not overwrite:
        raise ValueError(f"dataset '{facts.key}' is already registered (pass overwrite=True to replace it)")
    _REGISTRY[facts.key] = facts
    return facts


def unregister_dataset(key: str) -> None:
    """Remove ``key`` (a throw-away dataset of a test or a session); unknown keys are ignored."""
    _REGISTRY.pop(key, None)


def _load_builtin() -> None:
    global _LOADING, _LOADED
    if _LOADED or _LOADING:
        return
    _LOADING = True
    try:
        for mod in BUILTIN_DATASET_MODULES:
            importlib.import_module(mod)
        _LOADED = True
    finally:
        _LOADING = False


def dataset_names(group: Optional[str] = None) -> Tuple[str, ...]:
    """Every registered key (or those of one :data:`~radseg.dataset_facts.GROUPS` group), in
    registration order: the built-in table's order (siblings together), MESS's, then later ones."""
    _load_builtin()
    if group is not None and group not in GROUPS:
        raise ValueError(f"group '{group}' is not one of {GROUPS}")
    return tuple(k for k, f in _REGISTRY.items() if group is None or f.group == group)


def get_dataset(key: str) -> DatasetFacts:
    """The facts of ``key``; an unknown key is a :class:`radseg.errors.ConfigError` naming the known ones."""
    _load_builtin()
    try:
        return _REGISTRY[key]
    except (KeyError, TypeError):
        from .errors import ConfigError
        builtin = [k for k in dataset_names() if _REGISTRY[k].group != "mess"]
        raise ConfigError(f"unknown dataset '{key}': use one of {', '.join(builtin)}, or a MESS entry "
                          f"({', '.join(dataset_names('mess'))}).") from None


def has_dataset(key: str) -> bool:
    _load_builtin()
    return key in _REGISTRY


class RegistryView(Mapping):
    """A read-only, live ``Mapping[str, DatasetFacts]`` over the registry (optionally one group):
    what older code reads as a dict (``BENCHMARKS``), always up to date with later registrations."""

    def __init__(self, group: Optional[str] = None):
        self._group = group

    def _keys(self) -> Tuple[str, ...]:
        return dataset_names(self._group)

    def __getitem__(self, key: str) -> DatasetFacts:
        _load_builtin()
        f = _REGISTRY[key]
        if self._group is not None and f.group != self._group:
            raise KeyError(key)
        return f

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, key) -> bool:
        _load_builtin()
        f = _REGISTRY.get(key) if isinstance(key, str) else None
        return f is not None and (self._group is None or f.group == self._group)


#: every registered dataset, live
DATASET_REGISTRY = RegistryView()
