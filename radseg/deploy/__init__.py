"""Deployment: ONNX export of RADSeg's compute-heavy parts (and its language tower) and two runtimes.

* :mod:`radseg.deploy.export`: ``radseg export onnx`` (:func:`export_onnx`); one checked graph:
  :mod:`.graph_export`; the language tower, tokenizer and templates: :mod:`.text_export`;
* :mod:`radseg.deploy.export_folder` / :mod:`.format`: :class:`OnnxExport` (a checked export folder,
  graph digests verified), the folder format (torch-free);
* :mod:`radseg.deploy.onnx_predictor`: :func:`load_onnx_predictor`, a ``RADSegPredictor`` whose encoder
  is :class:`radseg.deploy.ort_backend.OrtEncoder` (the graphs behind the torch encoder's interface);
* :mod:`radseg.deploy.runtime`: :class:`OnnxSegmenter`, RADSeg from an export with numpy and ONNX
  Runtime only, no torch (:mod:`.numpy_ops`, :mod:`.text_runtime`, :mod:`.tokenizer`, :mod:`.sessions`);
* :mod:`radseg.deploy.bench`: the ``--backend onnxruntime`` rows of ``radseg bench``;
  :mod:`radseg.deploy.run_settings`: ``radseg segment``'s ``settings:`` line;
* :mod:`radseg.deploy.cli`: the ``radseg export`` command.

``onnx`` and ``onnxruntime`` are the optional extras ``.[deploy]`` (export) and ``.[onnx-runtime]``
(run, without torch); nothing here imports them at module level. See docs/DEPLOY.md.
"""
_LAZY = {"load_onnx_predictor": "onnx_predictor", "OnnxSegmenter": "runtime", "OnnxExport": "export_folder"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'radseg.deploy' has no attribute {name!r}")
