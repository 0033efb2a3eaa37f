"""Deployment: ONNX export of RADSeg's compute-heavy parts and an ONNX Runtime backend.

* :mod:`radseg.deploy.export`: ``radseg export onnx`` (:func:`export_onnx`), the folder format;
* :mod:`radseg.deploy.ort_backend`: :class:`OnnxExport` (a checked export folder),
  :class:`OrtEncoder` / :class:`OrtSam` (the exported parts behind the torch encoder's and
  SAM's interfaces), used by ``RADSegPredictor.from_onnx``;
* :mod:`radseg.deploy.bench`: the ``--backend onnxruntime`` rows of ``radseg bench``;
* :mod:`radseg.deploy.cli`: the ``radseg export`` command.

``onnx`` and ``onnxruntime`` are the optional extra ``.[deploy]``; nothing here imports
them at module level. See docs/DEPLOY.md.
"""
