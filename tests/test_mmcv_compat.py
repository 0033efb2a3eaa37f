import subprocess
import sys

import torch
import torch.nn.functional as F


def test_mmseg_imports_and_point_sample_matches_mmcv_formula():
    from radseg.mmseg.compat import ensure_mmcv_ops, point_sample
    ensure_mmcv_ops()
    import mmcv.ops
    import mmseg.models  # noqa: F401  (fails on mmcv-lite without the shim)
    x = torch.randn(2, 3, 8, 8)
    pts = torch.rand(2, 5, 2)
    ref = F.grid_sample(x, pts.unsqueeze(2) * 2 - 1, align_corners=False).squeeze(3)
    assert torch.allclose(mmcv.ops.point_sample(x, pts), ref)
    assert torch.allclose(point_sample(x, pts), ref)


def test_other_ops_raise_module_not_found_so_mmseg_try_blocks_work():
    code = ("import radseg.mmseg, mmcv.ops\n"
            "try:\n    from mmcv.ops import CrissCrossAttention\nexcept ModuleNotFoundError:\n    print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_registries_hold_radseg_modules():
    import radseg.mmseg  # noqa: F401
    # isort: split
    from mmseg.registry import DATASETS, METRICS, MODELS, TRANSFORMS
    assert MODELS.get("RADSegSegmentation") is not None
    for name in ("PascalVOC20Dataset", "PascalContext59Dataset", "COCOObjectDataset"):
        assert DATASETS.get(name) is not None
    assert METRICS.get("RADSegIoUMetric") and TRANSFORMS.get("RADSegLoadImageFromFile")
    voc20 = DATASETS.get("PascalVOC20Dataset")
    assert len(voc20.METAINFO["classes"]) == 20 and voc20.METAINFO["classes"][3] == "boat"
