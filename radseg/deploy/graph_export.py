"""One module -> one checked ONNX graph (``torch.onnx.export``, ``onnx.checker``, ONNX Runtime against PyTorch).

Used for every graph of an export (:mod:`radseg.deploy.export`, :mod:`radseg.deploy.text_export`).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..errors import ConfigError

EXPORTERS = ("dynamo", "torchscript")
#: ``--exporter`` values (``auto``: see :func:`export_graph`)
EXPORTER_CHOICES = ("auto",) + EXPORTERS
OPSET = 18


#: exported files by (source digest, part, shapes, exporter, opset): reused within a process
#: (the test fixtures and ``radseg bench --backend onnxruntime`` export the same graph more than once)
_EXPORTED: Dict[tuple, tuple] = {}


def _dims(value_info) -> List:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value_info.type.tensor_type.shape.dim]


def _export_with(exporter: str, module, args, path: Path, input_names, output_names, dynamic, opset: int):
    if exporter == "dynamo":
        from torch.export import Dim
        shapes = tuple({ax: Dim.DYNAMIC for ax in dynamic[n]} if n in dynamic else None for n in input_names)
        torch.onnx.export(module, args, str(path), input_names=list(input_names), output_names=list(output_names),
                          opset_version=opset, dynamo=True, dynamic_shapes=shapes, external_data=False,
                          verbose=False)
    else:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
            torch.onnx.export(module, args, str(path), input_names=list(input_names),
                              output_names=list(output_names), opset_version=opset, dynamo=False,
                              dynamic_axes={n: dict(d) for n, d in dynamic.items()}, do_constant_folding=True)


def max_relative_error(module, path: Path, checks: Sequence[Tuple[torch.Tensor, ...]], input_names) -> float:
    """Largest ``max|ort - torch| / max|torch|`` over the outputs of ``checks`` (fp32, CPU EP)."""
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for args in checks:
        with torch.no_grad():
            ref = module(*args)
        ref = ref if isinstance(ref, (tuple, list)) else (ref,)
        got = sess.run(None, {n: a.numpy() for n, a in zip(input_names, args)})
        for r, g in zip(ref, got):
            r = r.detach().float()
            g = torch.from_numpy(g).float()
            if tuple(g.shape) != tuple(r.shape):
                return float("inf")
            worst = max(worst, float((g - r).abs().max() / r.abs().max().clamp_min(1e-12)))
    return worst


#: the export check: every graph is run by ONNX Runtime on its example and on inputs of other
#: sizes along its dynamic axes, against PyTorch, and must agree within this (relative to the output's max)
CHECK_TOLERANCE = 1e-4


def export_graph(module: nn.Module, args: Tuple[torch.Tensor, ...], path: Path, input_names: Sequence[str],
                 output_names: Sequence[str], dynamic: Dict[str, Dict[int, str]], exporter: str = "auto",
                 opset: int = OPSET, memo_key: Optional[tuple] = None,
                 checks: Sequence[Tuple[torch.Tensor, ...]] = (),
                 auto_order: Sequence[str] = ("torchscript", "dynamo")) -> Dict:
    """Export ``module(*args)`` to ``path``, check it (``onnx.checker``, then ONNX Runtime against PyTorch
    on ``args`` and ``checks``); returns its manifest entry.

    ``dynamic``: ``{input name: {axis: dim name}}``, every other axis static (the example's size).
    ``exporter``: ``dynamo``, ``torchscript`` or ``auto``: ``auto_order`` tried in turn until one
    exports and matches (TorchScript exports the small graphs in a fraction of the dynamo
    exporter's time; the backbones go through the dynamo exporter: a TorchScript trace freezes
    sizes computed in Python, and cannot export timm's bicubic antialiased position-embedding resize).
    """
    import onnx
    key = None if memo_key is None else (*memo_key, tuple(tuple(a.shape) for a in args), exporter, opset)
    cached = _EXPORTED.get(key) if key is not None else None
    t0 = time.perf_counter()
    module = module.eval()
    if cached is not None and cached[0].is_file():
        shutil.copyfile(cached[0], path)
        used, err = cached[1], cached[2]
    else:
        order = tuple(auto_order) if exporter == "auto" else (exporter,)
        if any(e not in EXPORTERS for e in order):
            raise ConfigError(f"unknown exporter '{exporter}': use auto, {' or '.join(EXPORTERS)}.")
        err, used, failure = float("inf"), None, None
        for used in order:
            try:
                with torch.no_grad():
                    _export_with(used, module, args, path, input_names, output_names, dynamic, opset)
                onnx.checker.check_model(str(path))
                err = max_relative_error(module, path, [tuple(args), *checks], input_names)
            except Exception as e:  # noqa: BLE001 - the next exporter is tried; the last failure is raised
                failure = e
                continue
            if err <= CHECK_TOLERANCE:
                break
        if err > CHECK_TOLERANCE:
            if failure is not None and err == float("inf"):
                raise failure
            raise RuntimeError(f"{path.name}: ONNX Runtime differs from PyTorch by {err:.2e} (relative), "
                               f"more than {CHECK_TOLERANCE:g}")
        if key is not None:
            _EXPORTED[key] = (path, used, err)
    graph = onnx.load(str(path), load_external_data=False).graph
    return {"file": path.name, "bytes": path.stat().st_size, "exporter": used, "opset": opset,
            "inputs": {v.name: _dims(v) for v in graph.input},
            "outputs": {v.name: _dims(v) for v in graph.output},
            "check_max_rel_err": float(f"{err:.3g}"), "export_s": round(time.perf_counter() - t0, 2)}
