"""hubconf.py: torch.hub.load(<local clone>, "radseg" | "radseg_encoder", source="local") on the stand-in."""
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def load(entry, **kw):
    return torch.hub.load(str(ROOT), entry, source="local", **kw)


def test_dependencies_are_importable_names():
    import importlib.util
    ns = {}
    exec((ROOT / "hubconf.py").read_text(), ns)
    for dep in ns["dependencies"]:
        assert importlib.util.find_spec(dep) is not None, dep
    assert callable(ns["radseg"]) and callable(ns["radseg_encoder"])


def test_radseg_entry_returns_the_predictor():
    from radseg.predictor import RADSegPredictor
    p = load("radseg", model_version="tiny-random", device="cpu", slide_crop=224, slide_stride=112)
    assert isinstance(p, RADSegPredictor) and p.config.slide_crop == 224
    img = (np.random.default_rng(0).random((60, 90, 3)) * 255).astype(np.uint8)
    r = p.predict(img, ["sky", "dog"])
    assert r.labels.shape == (60, 90) and r.probs.shape == (2, 60, 90)
    sig = inspect.signature(RADSegPredictor.from_pretrained)
    assert "sam_refine" in sig.parameters


def test_radseg_encoder_entry_reference_quick_start():
    """The reference README's quick-start, with the stand-in and the CPU (RAYFRONTS_API.md section 6)."""
    from radseg.radseg import RayFrontsRADSegEncoder
    labels = ["sky", "tree", "car"]
    model = load("radseg_encoder", model_version="tiny-random", lang_model="siglip2", device="cpu",
                 predict=True, sam_refinement=False, classes=labels)
    assert isinstance(model, RayFrontsRADSegEncoder)
    assert (model.config.slide_crop, model.config.slide_stride, model.config.amp) == (336, 224, False)
    img_tensor = torch.rand(3, 70, 100).unsqueeze(0)  # T.ToTensor()(PIL RGB): 0..1
    with torch.inference_mode():
        seg_probs = model.encode_image_to_feat_map(img_tensor)
    assert seg_probs.shape == (1, len(labels) + 1, 70, 100)
    assert torch.count_nonzero(seg_probs[0, 0]) == 0
    assert float(seg_probs[0, 1:].amax()) > 0


def test_radseg_encoder_entry_feature_mode_and_scalings():
    model = load("radseg_encoder", model_version="tiny-random", device="cpu", scra_scaling=5.0, scga_scaling=7.0,
                 slide_crop=224, slide_stride=112)
    assert (model.config.scra_scaling, model.config.scga_scaling) == (5.0, 7.0)
    f = model.encode_image_to_feat_map(torch.rand(1, 3, 112, 224))
    assert f.shape == (1, 32, 7, 14)


def test_radseg_encoder_entry_rejects_unknown_keys():
    from radseg.errors import ConfigError
    with pytest.raises(ConfigError, match="'predcit'"):
        load("radseg_encoder", model_version="tiny-random", device="cpu", predcit=True)
