"""``MethodSettings``: the shared behaviour of a method's settings dataclass.

Each method declares its settings as a dataclass whose fields carry their default
(the release's) and a one-line help, as :class:`radseg.config.RADSegConfig` does;
this mixin adds dict round-trips, the hash stored in records, and the per-benchmark
presets of the method's own protocol (``PRESETS``: ``{dataset_key: {field: value}}``).
No torch import.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import field, fields
from typing import Any, ClassVar, Dict, Mapping, Tuple

from ..errors import ConfigError


def setting(default, help: str, **kw):
    """A settings field with its default and one-line meaning (``help``)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple (immutable) default for a settings field")
    return field(default=default, metadata={"help": help, **kw})


def settings_hash(values: Mapping[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the JSON of ``values`` (sorted keys): the record's ``config_hash``."""
    text = json.dumps(dict(values), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class MethodSettings:
    """Mixin for a method's settings dataclass.

    Subclasses set ``METHOD`` (the registry name) and ``PRESETS`` (the release's settings per
    benchmark key, spec section 4), and implement :meth:`validate`.
    """

    METHOD: ClassVar[str] = ""
    #: ``{dataset_key: {field: value}}``: the release's own settings per benchmark ("own" protocol)
    PRESETS: ClassVar[Dict[str, Dict[str, Any]]] = {}
    #: fields that are tuples (restored from JSON lists)
    TUPLE_FIELDS: ClassVar[Tuple[str, ...]] = ()

    @classmethod
    def field_names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def defaults(cls) -> Dict[str, Any]:
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def help(cls, name: str) -> str:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}[name]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, ignore_unknown: bool = False):
        """Build from a mapping; an unknown key is a ConfigError naming the method's known settings."""
        known = set(cls.field_names())
        unknown = sorted(set(values) - known)
        if unknown and not ignore_unknown:
            raise ConfigError(f"unknown {cls.METHOD or cls.__name__} setting(s) {', '.join(unknown)}. "
                              f"Known: {', '.join(sorted(known))}.")
        kw = {k: v for k, v in values.items() if k in known}
        for name in cls.TUPLE_FIELDS:
            if kw.get(name) is not None:
                kw[name] = tuple(kw[name])
        return cls(**kw)

    @classmethod
    def preset_names(cls) -> Tuple[str, ...]:
        return tuple(sorted(cls.PRESETS))

    @classmethod
    def own_preset(cls, dataset: str, **overrides: Any):
        """The release's settings for benchmark ``dataset`` (its section-4 row) plus ``overrides``."""
        if dataset not in cls.PRESETS:
            raise ConfigError(f"{cls.METHOD} has no own-protocol settings for dataset '{dataset}'; its "
                              f"release configures: {', '.join(cls.preset_names())}. Use --protocol radseg "
                              f"or give the settings explicitly.")
        return cls.from_dict({**cls.PRESETS[dataset], **overrides})

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready ``{name: value}`` (tuples as lists)."""
        d = dataclasses.asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    def replace(self, **changes: Any):
        return self.from_dict({**self.to_dict(), **changes})

    def config_hash(self) -> str:
        return settings_hash({"method": self.METHOD, **self.to_dict()})

    def validate(self):  # pragma: no cover - every method overrides
        raise NotImplementedError
