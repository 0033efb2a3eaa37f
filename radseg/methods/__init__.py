"""Segmentation methods: RADSeg and the paper's baselines behind one registry.

A method is one :class:`~radseg.methods.registry.MethodSpec`: a name, a settings
dataclass (:class:`~radseg.methods.settings.MethodSettings`) with the release's
defaults and per-benchmark presets, and a ``build`` that turns checked settings into
a predictor (:class:`~radseg.methods.registry.MethodPredictor`). Commands, the mmseg
segmentor and the records only ever talk to the registry::

    from radseg.methods import get_method
    spec = get_method("naclip")
    settings = spec.settings_cls.preset("voc20", protocol="own")
    predictor = spec.build(settings.validate(), device="cpu")
    predictor.predict("photo.jpg", ["sky", "dog"])

No torch or mm* import at package import: ``radseg --help`` stays fast.
"""
from .registry import (
    METHODS,
    PROTOCOLS,
    MethodPredictor,
    MethodSpec,
    available_methods,
    get_method,
    method_names,
    register_method,
)
from .settings import MethodSettings, settings_hash

__all__ = ["METHODS", "PROTOCOLS", "MethodPredictor", "MethodSpec", "MethodSettings", "available_methods",
           "get_method", "method_names", "register_method", "settings_hash"]
