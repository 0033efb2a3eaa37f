"""``load_onnx_predictor``: a :class:`radseg.predictor.RADSegPredictor` over an export folder.

The predictor knows an encoder, not ONNX: this module builds the ONNX Runtime encoder
(:class:`radseg.deploy.ort_backend.OrtEncoder`, the export's graphs behind the torch encoder's
interface) and hands it to the predictor.
"""
from __future__ import annotations

from typing import Optional


def load_onnx_predictor(folder, device=None, *, sam_refine: Optional[bool] = None, config=None, providers=None,
                        threads: Optional[int] = None, optimization: str = "all"):
    """A predictor whose backbone passes, ``head_mlp``, text tower and SAM parts run in ONNX Runtime
    from a ``radseg export onnx`` folder (docs/DEPLOY.md); the rest is the torch code, the same
    :class:`radseg.predictor.Prediction`. Settings are the export's (or ``config``, checked against
    it); ``sam_refine=False`` runs RADSeg from a RADSeg+ export. ``device``: ``cpu`` (default) or
    ``cuda`` (``onnxruntime-gpu``); ``providers``: ONNX Runtime execution providers (e.g. TensorRT's),
    overriding the device's; ``threads``: intra-op threads (default: ONNX Runtime's, one per core);
    ``optimization``: ``disable``, ``basic``, ``extended`` or ``all`` (graph optimisation level)."""
    from ..predictor import RADSegPredictor, resolve_device
    from .ort_backend import OnnxExport, build_onnx_encoder
    device = resolve_device(device or "cpu")
    if config is None and sam_refine is not None:
        config = OnnxExport.open(folder).config().replace(sam_refine=bool(sam_refine))
    elif config is not None and sam_refine is not None:
        config = config.replace(sam_refine=bool(sam_refine))
    encoder, config = build_onnx_encoder(folder, device, config, providers=providers, threads=threads,
                                         optimization=optimization)
    return RADSegPredictor(encoder, config)
