"""ONNX Runtime sessions for an export's graphs: execution providers and options (no torch import)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from ..errors import ConfigError

OPT_LEVELS = ("disable", "basic", "extended", "all")


def providers_for(device_type: str, index: Optional[int] = None) -> List:
    """Execution providers for a device type: the CPU's; on CUDA, CUDA's then the CPU's."""
    import onnxruntime as ort
    if device_type == "cpu":
        return ["CPUExecutionProvider"]
    if device_type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError("this onnxruntime has no CUDA execution provider: pip install onnxruntime-gpu "
                              "(or use --device cpu).")
        return [("CUDAExecutionProvider", {"device_id": index or 0}), "CPUExecutionProvider"]
    raise ConfigError(f"--backend onnxruntime runs on cpu or cuda, not {device_type}.")


def session_options(threads: Optional[int] = None, optimization: str = "all"):
    import onnxruntime as ort
    if optimization not in OPT_LEVELS:
        raise ConfigError(f"unknown ONNX Runtime optimisation level '{optimization}': use {', '.join(OPT_LEVELS)}.")
    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimization]
    if threads:
        so.intra_op_num_threads = int(threads)
    so.log_severity_level = 3  # errors only
    return so


def open_session(path: Path, providers, options):
    """An ``InferenceSession``; a file ONNX Runtime cannot load is one :class:`ConfigError` naming it."""
    import onnxruntime as ort
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as e:  # noqa: BLE001 - InvalidProtobuf, Fail, ...: all mean an unusable file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"ONNX Runtime cannot load '{path}' ({first[:160]}); export again "
                          f"(radseg export onnx ... --force).") from None
