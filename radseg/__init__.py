"""RADSeg: zero-shot open-vocabulary segmentation with RADIO.

The library's front door::

    from radseg import RADSegPredictor, RADSegConfig
    predictor = RADSegPredictor.from_pretrained("c-radio_v3-b")   # "tiny-random": offline stand-in
    predictor.predict("photo.jpg", ["sky", "dog"]).overlay()

    from radseg import build_predictor                            # any registered method
    build_predictor("naclip", model_version="tiny-random").predict("photo.jpg", ["sky", "dog"])

The core (this package minus :mod:`radseg.mmseg`) is plain PyTorch and never
imports mmseg, mmengine or mmcv. Names are imported lazily so that torch-free
parts (``radseg.data``, ``radseg.results``, ``radseg.config``) start fast.
"""
__version__ = "0.1.0"

_LAZY = {
    "RADSegConfig": "config",
    "RADSegPredictor": "predictor",
    "Prediction": "predictor",
    "RADSegEncoder": "core.encoder",
    "SegmentationResult": "core.encoder",
    "build_predictor": "methods.api",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'radseg' has no attribute {name!r}")
