"""ONNX export and the ONNX Runtime backend against PyTorch fp32, on the stand-ins (docs/DEPLOY.md).

One export per preset (``radseg export onnx`` through the real entry point), made once for the
module: tiny-random with tiny-random-sam, so RADSeg and RADSeg+ run from the same folder. Parity:
per-window backbone features within 1e-4 (relative to the window's largest magnitude), label maps
equal on >= 99.9 % of pixels, RADSeg and RADSeg+ (SAM decoder graph actually called), every VOC
preset (the three window settings: 224/112, 336/112, 336/224).
"""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from radseg import RADSegPredictor  # noqa: E402
from radseg.cli import main  # noqa: E402
from radseg.deploy.onnx_predictor import load_onnx_predictor  # noqa: E402

PRESETS = ("voc_low", "voc_mid", "voc_high")
CLASSES = ["aeroplane", "bicycle", "bird", "boat|ship", "bottle", "bus"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for preset in PRESETS:
        rc = main(["export", "onnx", "--model_version", "tiny-random", "--preset", preset, "--sam-refine",
                   "--sam-ckpt", "tiny-random-sam", "--classes", ", ".join(CLASSES), "--out",
                   str(root / preset)])
        assert rc == 0
        out[preset] = root / preset
    return out


@pytest.fixture(scope="module")
def torch_predictor():
    return RADSegPredictor.from_pretrained("tiny-random", sam_refine=True, sam_ckpt="tiny-random-sam", device="cpu")


@pytest.fixture(scope="module")
def image():
    g = torch.Generator().manual_seed(3)
    low = torch.rand(1, 3, 4, 5, generator=g) * 255
    return F.interpolate(low, size=(60, 80), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).byte().numpy()


def test_export_folder_describes_its_graphs(exports):
    from radseg.deploy.ort_backend import OnnxExport
    m = json.loads((exports["voc_mid"] / "radseg_onnx.json").read_text())
    assert m["format_version"] == 2
    assert m["format"] == "radseg-onnx" and m["model_version"] == "tiny-random" and m["preset"] == "voc_mid"
    assert m["settings"] == {"slide_crop": 336, "slide_stride": 112, "scra_scaling": 10.0, "use_scra": True}
    assert len(m["source_digest"]) == 64 and len(m["sam_digest"]) == 64 and m["random_weights"] is True
    parts = m["parts"]
    assert set(parts) == {"backbone", "head_mlp", "sam_backbone", "sam_feat_mlp", "sam_neck",
                          "sam_prompt_encoder", "sam_mask_decoder", "text_encoder"}
    x = parts["backbone"]["inputs"]["x"]
    assert x[1:] == [3, 336, 336] and isinstance(x[0], str)  # static window, dynamic window count
    assert parts["backbone"]["outputs"]["features"][1:] == [441, 32]
    assert all(isinstance(d, str) for d in parts["sam_backbone"]["inputs"]["x"][2:])  # 1024 x s or s x 1024
    assert all(p["check_max_rel_err"] <= 1e-4 and (exports["voc_mid"] / p["file"]).stat().st_size > 0
               for p in parts.values())
    assert m["text"]["names"] == ["aeroplane", "bicycle", "bird", "boat", "ship", "bottle", "bus"]
    assert OnnxExport.open(exports["voc_mid"]).describe() == "tiny-random (preset voc_mid, windows 336/112)"


@pytest.mark.parametrize("preset", PRESETS)
def test_onnxruntime_matches_torch(exports, torch_predictor, image, preset):
    from radseg.bench.core import _window_crops
    ort_pred = load_onnx_predictor(exports[preset], device="cpu")
    config = ort_pred.config
    assert config.sam_refine and config.model_version == "tiny-random"
    torch_pred = torch_predictor
    torch_pred.update(**{k: getattr(config, k) for k in ("slide_crop", "slide_stride", "scale", "coarse_thresh")})
    assert torch_pred.config == config.replace(class_names=torch_pred.config.class_names)
    # per-window features
    from radseg.preprocess import network_input
    x = network_input(image, config.scale)
    crops = _window_crops(torch_pred.encoder, x)
    assert crops.shape[0] > 1 and crops.shape[-1] == config.slide_crop
    a = torch_pred.encoder.backbone_features(crops)
    b = ort_pred.encoder.backbone_features(crops)
    rel = [float((b[i] - a[i]).abs().max() / a[i].abs().max()) for i in range(a.shape[0])]
    assert max(rel) <= 1e-4, rel
    # RADSeg+, with the SAM decoder graph counted
    dec = ort_pred.encoder.sam.mask_decoder
    calls = []
    run = dec.graph.forward
    dec.graph.forward = lambda *t: calls.append(t[1].shape[0]) or run(*t)
    refiner = torch_pred.encoder.sam_refiner
    for refine in (True, False):
        if not refine:
            for p in (ort_pred, torch_pred):
                p.encoder.sam_refiner = None
        rt = torch_pred.predict(image, CLASSES)
        ro = ort_pred.predict(image, CLASSES)
        assert ro.labels.shape == rt.labels.shape == image.shape[:2] and ro.classes == rt.classes
        assert ro.probs.dtype == torch.float32 and ro.probs.shape == rt.probs.shape
        agree = float((ro.labels == rt.labels).float().mean())
        assert agree >= 0.999, (preset, refine, agree)
        if refine:
            assert calls and sum(calls) > 0  # regions reached SAM's decoder graph
    torch_pred.encoder.sam_refiner = refiner


def test_segment_cli_onnxruntime_backend(exports, tmp_path, capsys):
    from PIL import Image
    img = tmp_path / "img.png"
    Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(img)
    rc = main(["segment", str(img), "--labels", "bird, bus", "--backend", "onnxruntime", "--model-dir",
               str(exports["voc_low"]), "--out", str(tmp_path / "o")])
    assert rc == 0 and (tmp_path / "o_labels.png").is_file() and (tmp_path / "o_overlay.png").is_file()


def test_bench_smoke_both_backends(tmp_path, capsys):
    js = tmp_path / "bench.json"
    # tiny-random: the backbone graph exported for voc_low above is reused (same weights, same window size)
    rc = main(["bench", "--model_version", "tiny-random", "--backend", "torch", "onnxruntime", "--small",
               "--device", "cpu", "--preset", "voc_low",
               "--refine", "off", "--mode", "exact", "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 0 and "ONNX Runtime (CPU execution provider) against torch" in out
    rows = json.loads(js.read_text())["results"]
    assert [r.get("backend") for r in rows] == ["torch", "onnxruntime"]
    ort = rows[1]
    assert ort["speedup_vs_torch"] > 0 and ort["interleaved_torch_ms"] > 0 and ort["interleaved_onnxruntime_ms"] > 0
    assert ort["pixel_agreement_vs_torch"] >= 0.999 and ort["feature_max_rel_err"] <= 1e-4
    assert ort["export_mb"] > 0 and ort["session_start_s"] > 0 and "windows_backbone" in ort["stages_ms"]
