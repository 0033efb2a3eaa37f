"""The export folder's format: names, the settings an export fixes, the optional-extra check."""
from __future__ import annotations

from typing import Dict

from ..errors import ConfigError

FORMAT = "radseg-onnx"
FORMAT_VERSION = 1
MANIFEST = "radseg_onnx.json"
TEXT_FILE = "text_embeddings.npz"


def require_onnx(what: str = "ONNX export") -> None:
    """One clear line when the optional extra is missing."""
    for mod in ("onnx", "onnxruntime"):
        try:
            __import__(mod)
        except ImportError:
            raise ConfigError(f"{what} needs the 'deploy' extra ({mod} is not installed): "
                              f"pip install -e '.[deploy]' (or pip install onnx onnxruntime).") from None


def manifest_settings(config) -> Dict:
    """The settings an export fixes (compared with a run's :class:`radseg.config.RADSegConfig` at load time)."""
    return {k: getattr(config, k) for k in ("slide_crop", "slide_stride", "scra_scaling", "use_scra")}
