"""RADSeg: zero-shot open-vocabulary segmentation with RADIO.

The core (this package minus :mod:`radseg.mmseg`) is plain PyTorch.
"""
__version__ = "0.1.0"

from .encoder import RADSegEncoder, SegmentationResult  # noqa: E402,F401
