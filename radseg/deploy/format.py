"""The export folder's format: names, version, the settings an export fixes, file digests, the extra check.

No torch import: the ONNX Runtime path without PyTorch (:mod:`radseg.deploy.runtime`) reads it.

Format versions: 1 (text embeddings of the exported classes only); 2 adds the language tower
(``text_encoder.onnx``, its tokenizer and the prompt templates: any class list is embedded at run
time) and the SHA-256 of every graph file (checked before any session is created).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict

from ..errors import ConfigError

FORMAT = "radseg-onnx"
FORMAT_VERSION = 2
#: the format versions this radseg reads
READS = (1, 2)
MANIFEST = "radseg_onnx.json"
TEXT_FILE = "text_embeddings.npz"
TEXT_TOWER = "text_encoder"
TOKENIZER_DIR = "tokenizer"


def require_onnx(what: str = "ONNX export") -> None:
    """One clear line when the optional extra is missing."""
    for mod in ("onnx", "onnxruntime"):
        try:
            __import__(mod)
        except ImportError:
            raise ConfigError(f"{what} needs the 'deploy' extra ({mod} is not installed): "
                              f"pip install -e '.[deploy]' (or pip install onnx onnxruntime).") from None


def require_onnxruntime(what: str = "--backend onnxruntime") -> None:
    """The run-time half of :func:`require_onnx` (no ``onnx`` needed to run an export)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError(f"{what} needs the 'deploy' extra (onnxruntime is not installed): pip install -e "
                          f"'.[deploy]' (without torch: the 'onnx-runtime' extra, docs/DEPLOY.md).") from None


def manifest_settings(config) -> Dict:
    """The settings an export fixes (compared with a run's :class:`radseg.config.RADSegConfig` at load time)."""
    return {k: getattr(config, k) for k in ("slide_crop", "slide_stride", "scra_scaling", "use_scra")}


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes (hex), read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
