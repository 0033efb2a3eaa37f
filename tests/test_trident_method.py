"""Trident as a method: registry, settings (defaults, every release config, protocols, errors), the weight
layouts (DINO .pth, SAM .pth; DINO vs timm on one seeded state dict), replica sizes, and a prediction with
the tiny-random stand-ins."""
import numpy as np
import pytest
import torch

from radseg.errors import ConfigError, WeightsNotFoundError
from radseg.methods import get_method
from radseg.methods.trident.settings import TridentSettings


def test_registered_with_its_settings_and_published_numbers():
    spec = get_method("trident")
    assert spec.available and spec.settings_cls is TridentSettings
    assert TridentSettings.PUBLISHED["voc20"] == 84.5 and len(TridentSettings.PUBLISHED) == 8
    b16 = TridentSettings.PUBLISHED_BY_BACKBONE["ViT-B/16"]
    assert round(sum(b16.values()) / 8, 1) == TridentSettings.PUBLISHED_AVERAGE["ViT-B/16"]
    h14 = TridentSettings.PUBLISHED_BY_BACKBONE["ViT-H-14"]
    assert round(sum(h14.values()) / 8, 1) == TridentSettings.PUBLISHED_AVERAGE["ViT-H-14"]
    from radseg.results.published import published_reference
    ref = published_reference()
    assert ref[("trident: ViT-B/16 + SAM", "own", "cityscapes")] == 42.9


def test_every_release_config_and_the_defaults():
    d = TridentSettings()
    assert (d.model_version, d.dino_model, d.sam_model_type, d.slide_crop, d.slide_stride, d.beta, d.gamma,
            d.logit_scale, d.cos_fac, d.refine_neg_cos, d.sam_refine) == \
        ("ViT-B/16", "dino_vitb16", "vit_b", 336, 224, 1.2, 3.0, 40.0, 1.2, True, True)
    table = {  # TRIDENT.md section 3: scale short side, stride, prob_thd, coarse_thresh, cos_fac, refine_neg_cos
        "voc21": (448, 224, 0.2, 0.2, 1.2, True), "context60": (576, 224, 0.15, 0.15, 1.2, True),
        "coco_object": (448, 224, 0.25, 0.25, 1.2, True), "voc20": (336, 112, 0.0, 0.2, 0.0, True),
        "context59": (576, 224, 0.0, 0.15, 1.2, True), "coco_stuff164k": (448, 224, 0.0, 0.05, 1.2, True),
        "cityscapes": (688, 224, 0.0, 0.10, 3.0, False), "ade20k": (576, 224, 0.0, 0.05, 1.2, False),
        "pc459": (448, 224, 0.0, 0.2, 1.2, True), "ade847": (448, 224, 0.0, 0.2, 1.2, True)}
    assert set(TridentSettings.PRESETS) == set(table)
    from radseg.methods.trident.prompts import load_trident_classes
    counts = {"voc21": 21, "context60": 60, "coco_object": 81, "voc20": 20, "context59": 59, "coco_stuff164k": 171,
              "cityscapes": 19, "ade20k": 150, "pc459": 459, "ade847": 847}
    for key, (short, stride, thd, coarse, cos, neg) in table.items():
        s = TridentSettings.own_preset(key).validate()
        assert (s.scale, s.slide_stride, s.prob_thd, s.coarse_thresh, s.cos_fac, s.refine_neg_cos) == \
            ((2048, short), stride, thd, coarse, cos, neg), key
        assert s.sam_halves == (key == "cityscapes") and s.slide_crop == 336 and s.sam_iou_thresh == 0.8
        assert len(load_trident_classes(s.class_names)) == counts[key], key
    ade847 = load_trident_classes("trident/ade847")
    assert any(", " in q for c in ade847 for q in c)  # ', ' stays inside one prompt


def test_radseg_protocol_takes_radseg_presets_and_prompts():
    s = TridentSettings.radseg_protocol("voc20", "mid_res")
    assert (s.scale, s.slide_crop, s.slide_stride, s.class_names, s.coarse_thresh) == ((2048, 336), 336, 112,
                                                                                       "voc20", 0.2)
    assert s.cos_fac == 1.2 and s.prob_thd == 0.0  # everything else Trident's default
    assert TridentSettings.radseg_protocol("cityscapes", "low_res").sam_halves
    assert TridentSettings.from_dict(s.to_dict()) == s and s.config_hash() != TridentSettings().config_hash()


@pytest.mark.parametrize("bad, match", [
    (dict(model_version="ViT-X"), "unknown model_version"), (dict(slide_stride=100), "multiples of 16"),
    (dict(beta=0), "beta must be positive"), (dict(prob_thd=1.5), "between 0 and 1"),
    (dict(refine_neg_cos="no"), "True or False"), (dict(scale=(2048,)), "two positive integers"),
    (dict(sam_model_type="vit_h"), "sam_model_type must be one of vit_b")])
def test_validate_gives_one_line(bad, match):
    with pytest.raises(ConfigError, match=match):
        TridentSettings(**bad).validate()
    with pytest.raises(ConfigError, match="unknown trident setting"):
        TridentSettings.from_dict({"scra_scaling": 10})


def test_missing_weights_are_one_line(tmp_path, monkeypatch):
    from radseg.methods.trident.dino import build_dino
    from radseg.methods.trident.sam_model import build_sam
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsNotFoundError, match="dino_vitbase16_pretrain.pth"):
        build_dino("ViT-B/16")
    with pytest.raises(WeightsNotFoundError, match="sam_vit_b_01ec64.pth"):
        build_sam("ViT-B/16")
    with pytest.raises(WeightsNotFoundError, match="dino_vitbase16_pretrain.pth"):  # before CLIP is built
        get_method("trident").build(TridentSettings().validate())


def test_dino_pth_layout_and_timm_give_the_same_tokens(tmp_path):
    import timm

    from radseg.methods.trident.dino import build_dino, seeded_dino
    src = seeded_dino("tiny", seed=3)
    sd = src.state_dict()
    path = tmp_path / "dino_tiny.pth"
    torch.save({"teacher": {f"backbone.{k}": v for k, v in sd.items()}}, path)  # DINO's training layout
    loaded = build_dino("ViT-B/16", weights=str(path), arch="tiny")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in sd.items())
    tm = timm.models.vision_transformer.VisionTransformer(img_size=224, patch_size=16, embed_dim=32, depth=2,
                                                           num_heads=2, num_classes=0, qkv_bias=True).eval()
    tm.load_state_dict(sd)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = loaded.get_intermediate_layers(x, n=1)[0]
        theirs = tm.forward_features(x)
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)  # same weights, same layout, same tokens
        x336 = torch.randn(1, 3, 336, 336)
        tm336 = timm.models.vision_transformer.VisionTransformer(
            img_size=224, patch_size=16, embed_dim=32, depth=2, num_heads=2, num_classes=0,
            dynamic_img_size=True).eval()
        tm336.load_state_dict(sd)
        assert not torch.allclose(loaded.get_intermediate_layers(x336)[0], tm336.forward_features(x336), atol=1e-4)


def test_sam_pth_layout_loads_the_official_keys(tmp_path):
    import hashlib

    from radseg.methods.trident.sam_model import load_sam_checkpoint, seeded_sam
    src = seeded_sam("tiny", seed=5)
    path = tmp_path / "sam_tiny.pth"
    torch.save(src.state_dict(), path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    named = tmp_path / f"sam_tiny_{sha}.pth"
    path.rename(named)
    from radseg.models.sam import verify_checkpoint
    verify_checkpoint(named, "tiny")
    loaded = load_sam_checkpoint(named, "tiny")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in src.state_dict().items())
    with pytest.raises(WeightsNotFoundError, match="does not fit SAM vit_b"):
        load_sam_checkpoint(named, "vit_b")


def test_full_size_replicas_have_the_release_parameter_counts():
    from radseg.methods.trident.dino import build_dino_arch
    from radseg.methods.trident.sam_model import build_sam_arch
    with torch.device("meta"):
        dino, sam = build_dino_arch("dino_vitb16"), build_sam_arch("vit_b")
    assert sum(p.numel() for p in dino.parameters()) == 85_798_656
    assert sum(p.numel() for p in sam.parameters()) == 93_735_472
    assert sum(p.numel() for p in sam.image_encoder.parameters()) == 89_670_912


@pytest.fixture(scope="module")
def tiny():
    from trident_stand_in import tiny_trident
    pred = tiny_trident()
    pred.settings = TridentSettings(model_version="tiny-random", scale=(2048, 336)).validate()
    return pred


def test_predict_an_image_with_tiny_random(tiny, tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    res = tiny.predict(rgb, "sky|cloud, cat, dog")
    assert res.labels.shape == (50, 70) and res.probs.shape == (3, 50, 70) and res.classes == ["sky", "cat", "dog"]
    assert res.labels.dtype == torch.int64 and res.probs.dtype == torch.float32
    assert set(tiny.modules_for_count()) == {"clip", "dino", "sam"} and tiny.model_info["sam"].startswith("vit_b")
    f = tmp_path / "classes.txt"
    f.write_text("sky; cloud\ncat\n")
    tiny.set_classes(str(f))
    assert tiny.classes == ["sky", "cat"] and tiny._text.shape[0] == 3


def test_the_original_image_is_required_and_checked(tiny, tmp_path):
    """The evaluation's entry (and the bench workload's features) read the original file (T1): no
    path is one ConfigError line, a file of another size than ori_shape one DatasetError line."""
    from PIL import Image

    from radseg.errors import DatasetError
    tiny.set_classes("sky, cat")
    img = torch.zeros(1, 3, 48, 64)
    with pytest.raises(ConfigError, match="pass image_path"):
        tiny.predict_normalized(img, (50, 70))
    path = tmp_path / "im.png"
    Image.fromarray(np.zeros((40, 70, 3), np.uint8)).save(path)
    for fn in (tiny.predict_normalized, tiny.query_features):
        with pytest.raises(DatasetError, match=r"is 40 x 70, but ori_shape is \(50, 70\)"):
            fn(img, (50, 70), str(path))
