"""Run mmseg 1.2.2 on ``mmcv-lite`` (no compiled ops): provide ``mmcv.ops`` when it is absent.

mmseg imports two names from ``mmcv.ops`` at module level: ``point_sample``
(pure PyTorch in mmcv's sources, reproduced below) and ``sigmoid_focal_loss``
(a training loss RADSeg never uses; calling it raises). Every other
``mmcv.ops`` import in mmseg sits in ``try/except ModuleNotFoundError``, so
any other name raises ``ModuleNotFoundError`` here. When full mmcv with its
compiled ops is installed, :func:`ensure_mmcv_ops` changes nothing.

This is the only place that knows about the difference; nothing in
site-packages is edited.
"""
from __future__ import annotations

import sys
import types
import warnings

import torch
import torch.nn.functional as F

_SHIM_NAME = "radseg-mmcv-ops-shim"


def _normalize(grid: torch.Tensor) -> torch.Tensor:
    return grid * 2.0 - 1.0


def point_sample(input: torch.Tensor, points: torch.Tensor, align_corners: bool = False,
                 **kwargs) -> torch.Tensor:
    """mmcv.ops.point_sample: sample ``input`` (N x C x H x W) at ``points`` in [0, 1] (N x P x 2)."""
    add_dim = False
    if points.dim() == 3:
        add_dim = True
        points = points.unsqueeze(2)
    output = F.grid_sample(input, _normalize(points), align_corners=align_corners, **kwargs)
    if add_dim:
        output = output.squeeze(3)
    return output


def sigmoid_focal_loss(*args, **kwargs):
    raise NotImplementedError(
        "sigmoid_focal_loss needs mmcv's compiled ops (full mmcv); RADSeg evaluation never uses it.")


def _make_shim() -> types.ModuleType:
    mod = types.ModuleType("mmcv.ops")
    mod.__doc__ = "RADSeg's stand-in for mmcv.ops on mmcv-lite (see radseg.mmseg.compat)."
    mod.__file__ = __file__
    mod.point_sample = point_sample
    mod.sigmoid_focal_loss = sigmoid_focal_loss
    mod.SHIM = _SHIM_NAME

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError(
            f"mmcv.ops.{name} needs full mmcv with compiled ops (mmcv-lite is installed)",
            name="mmcv.ops")

    mod.__getattr__ = __getattr__
    return mod


def ensure_mmcv_ops() -> bool:
    """Make ``import mmcv.ops`` work. Returns True if the shim was installed."""
    if "mmcv.ops" in sys.modules and getattr(sys.modules["mmcv.ops"], "SHIM", None) == _SHIM_NAME:
        return True
    try:
        import mmcv.ops  # noqa: F401  full mmcv: nothing to do
        return False
    except (ImportError, OSError):
        pass
    # mmcv.cnn warns that MultiScaleDeformableAttention is missing: expected on mmcv-lite.
    warnings.filterwarnings("ignore", message=".*MultiScaleDeformableAttention.*")
    for key in [k for k in sys.modules if k == "mmcv.ops" or k.startswith("mmcv.ops.")]:
        del sys.modules[key]
    import mmcv
    shim = _make_shim()
    sys.modules["mmcv.ops"] = shim
    mmcv.ops = shim
    return True


def using_shim() -> bool:
    return getattr(sys.modules.get("mmcv.ops"), "SHIM", None) == _SHIM_NAME
