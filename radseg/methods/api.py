"""``radseg.build_predictor``: any registered method's predictor from its name and settings."""
from __future__ import annotations

from typing import Any, Mapping, Optional


def build_predictor(method: str = "radseg", settings: Any = None, *, device: Any = None,
                    dataset: Optional[str] = None, **overrides: Any):
    """The predictor of ``method`` (a :class:`radseg.methods.MethodPredictor`).

    ``settings``: the method's settings dataclass, a mapping of its fields, or ``None`` (the
    release's defaults; with ``dataset``, the release's own settings for that benchmark:
    ``settings_cls.own_preset(dataset)``); ``overrides``: fields to change (an unknown one is a
    ConfigError naming the method's settings). Validated before anything loads::

        build_predictor("radseg", model_version="tiny-random").predict("photo.jpg", ["sky", "dog"])
    """
    from .registry import get_method
    spec = get_method(method)
    cls = spec.settings_cls
    if settings is None:
        settings = cls.own_preset(dataset) if dataset is not None and spec.name != "radseg" else cls()
    elif isinstance(settings, Mapping):
        settings = cls.from_dict(settings)
    if overrides:
        unknown = sorted(set(overrides) - set(cls.field_names()))
        if unknown:
            from ..errors import ConfigError
            raise ConfigError(f"unknown {spec.name} setting(s) {', '.join(unknown)}. Known: "
                              f"{', '.join(cls.field_names())}.")
        settings = settings.replace(**overrides)
    settings = settings.validate() or settings
    return spec.build(settings, device=device)
