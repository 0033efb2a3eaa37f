"""RADSeg: zero-shot open-vocabulary segmentation with RADIO.

The core (this package minus :mod:`radseg.mmseg`) is plain PyTorch.
``RADSegEncoder`` and ``SegmentationResult`` are imported lazily so that
torch-free parts (``radseg.data``, ``radseg.results``) start fast.
"""
__version__ = "0.1.0"

__all__ = ["RADSegEncoder", "SegmentationResult", "__version__"]


def __getattr__(name):
    if name in ("RADSegEncoder", "SegmentationResult"):
        from . import encoder
        return getattr(encoder, name)
    raise AttributeError(f"module 'radseg' has no attribute {name!r}")
