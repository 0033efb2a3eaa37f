"""NACLIP as a method: registry, settings (presets, validation, protocols), class files, predict offline."""
import numpy as np
import pytest
import torch

from radseg.errors import ClassNamesError, ConfigError
from radseg.methods import get_method, method_names
from radseg.methods.naclip.classes import RELEASE_DIR, load_classes, queries
from radseg.methods.naclip.settings import NaclipSettings


@pytest.fixture(scope="module")
def predictor():
    spec = get_method("naclip")
    settings = NaclipSettings(model_version="tiny-random", scale=(448, 224), pamr_steps=2)
    return spec.build(settings.validate(), device="cpu")


def test_registered_with_its_settings_and_published_numbers():
    assert "naclip" in method_names()
    spec = get_method("NACLIP")
    assert spec.settings_cls is NaclipSettings and spec.available and "2404.08181" in spec.paper
    assert NaclipSettings.PUBLISHED == {"voc21": 64.07, "context60": 34.99, "coco_object": 36.19, "voc20": 83.03,
                                        "cityscapes": 38.27, "context59": 38.35, "ade20k": 19.05,
                                        "coco_stuff164k": 25.69}
    assert round(sum(NaclipSettings.PUBLISHED.values()) / 8, 2) == 42.46  # the README's average
    from radseg.results.published import published_reference
    ref = published_reference()
    assert any(k[0].startswith("naclip") and k[2] == "voc21" and v == 64.07 for k, v in ref.items())


def test_presets_are_the_releases_section_4():
    p = {k: NaclipSettings.own_preset(k) for k in NaclipSettings.PRESETS}
    assert set(p) == {"voc21", "context60", "coco_object", "voc20", "cityscapes", "context59", "ade20k",
                      "coco_stuff164k"}
    assert {k for k, s in p.items() if s.slide_crop == 0} == {"voc20", "voc21"}
    assert {k for k, s in p.items() if s.prob_thd == 0.1} == {"voc21", "context60", "coco_object"}
    assert all(s.prob_thd == 0.0 for k, s in p.items() if k not in ("voc21", "context60", "coco_object"))
    assert all((s.slide_crop, s.slide_stride) == (224, 112) for k, s in p.items() if k not in ("voc20", "voc21"))
    assert all((s.arch, s.attn_strategy, s.gaussian_std, s.logit_scale, s.model_version) ==
               ("reduced", "naclip", 5.0, 40.0, "ViT-B/16") for s in p.values())
    assert all(s.class_names == f"naclip/{k}" for k, s in p.items())
    with pytest.raises(ConfigError, match="no own-protocol settings for dataset 'ade847'"):
        NaclipSettings.own_preset("ade847")


def test_radseg_protocol_takes_radsegs_windows_and_prompts_and_naclips_rest():
    from radseg.config import RADSegConfig
    s = NaclipSettings.radseg_protocol("voc20", "mid_res")
    r = RADSegConfig.preset("voc20", "mid_res")
    assert (s.scale, s.slide_crop, s.slide_stride, s.class_names) == (r.scale, r.slide_crop, r.slide_stride,
                                                                       r.class_names)
    assert (s.prob_thd, s.pamr_steps, s.logit_scale) == (0.0, 10, 40.0)


@pytest.mark.parametrize("change, match", [
    (dict(arch="full"), "arch must be one of reduced, vanilla"),
    (dict(attn_strategy="csa"), "attn_strategy must be one of"),
    (dict(precision="bf16"), "precision must be one of"),
    (dict(gaussian_std=0), "gaussian_std must be positive"),
    (dict(logit_scale=float("nan")), "logit_scale must be a finite number"),
    (dict(prob_thd=1.5), "prob_thd must be between 0 and 1"),
    (dict(slide_crop=-1), "slide_crop must be >= 0"),
    (dict(slide_stride=300), "slide_stride must be between 1 and slide_crop=224"),
    (dict(pamr_steps=-2), "pamr_steps must be >= 0"),
    (dict(pamr_dilations=(8, 0)), "pamr_dilations must be positive"),
    (dict(scale=(2048,)), "scale must be two positive integers"),
    (dict(model_version=""), "model_version must be a CLIP name"),
])
def test_validation_is_one_line_per_mistake(change, match):
    with pytest.raises(ConfigError, match=match) as e:
        NaclipSettings(**change).validate()
    assert "\n" not in str(e.value)


def test_settings_round_trip_and_unknown_keys():
    s = NaclipSettings.own_preset("cityscapes")
    assert NaclipSettings.from_dict(s.to_dict()) == s and s.config_hash() != NaclipSettings().config_hash()
    with pytest.raises(ConfigError, match="unknown naclip setting.*scra_scaling"):
        NaclipSettings.from_dict({"scra_scaling": 10})


@pytest.mark.parametrize("key, classes, nqueries", [
    ("voc21", 21, 56), ("voc20", 20, 30), ("coco_object", 81, 113), ("context60", 60, 60),
    ("context59", 59, 59), ("cityscapes", 19, 19), ("ade20k", 150, 150), ("coco_stuff164k", 171, 171)])
def test_class_files_have_the_specs_class_and_query_counts(key, classes, nqueries):
    c = load_classes(f"naclip/{key}", file_only=True)
    words, idx = queries(c)
    assert (len(c), len(words)) == (classes, nqueries) and idx[-1] == classes - 1


def test_class_files_are_read_by_the_releases_rule():
    voc21 = load_classes("naclip/voc21")
    assert len(voc21[0]) == 26 and "background" not in voc21[0] and voc21[0][0] == "sky"
    assert len(voc21[15]) == 7 and voc21[15][0] == "person"
    assert len(voc21[20]) == 5 and voc21[20][0] == "television monitor"
    assert voc21[4] == ["ship"] and voc21[11] == ["table"]
    coco = load_classes("naclip/coco_object")
    assert len(coco[1]) == 8 and "body" in coco[1] and "bed" in coco[0] and ["bed"] in coco
    ctx = load_classes("naclip/context60")
    assert ctx[0] == ["background"] and ctx[-1] == ["wood "]  # the release keeps the trailing space
    assert "trafficlight" in [c[0] for c in load_classes("naclip/cityscapes")]
    assert sorted(p.stem for p in RELEASE_DIR.glob("*.txt")) == sorted(NaclipSettings.PRESETS)
    assert load_classes("voc20")[0] == ["aeroplane"]  # a RADSeg file: the toolkit's own rule
    with pytest.raises(ClassNamesError, match="not found"):
        load_classes("naclip/nope", file_only=True)


def test_predict_offline_with_tiny_random(predictor, tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(path)
    r = predictor.predict(str(path), ["sky", "dog|puppy", "grass"])
    assert r.labels.shape == (90, 120) and r.labels.dtype == torch.int64 and r.probs.shape == (3, 90, 120)
    assert r.probs.dtype == torch.float32 and torch.allclose(r.probs.sum(0), torch.ones(90, 120), atol=1e-5)
    assert r.classes == ["sky", "dog", "grass"] and int(r.labels.max()) <= 2 and r.timings["total"] > 0
    again = predictor.predict(str(path))
    assert torch.equal(again.labels, r.labels)
    assert predictor.query_idx == [0, 1, 1, 2] and predictor.text_embeddings.shape == (4, 64)
    assert predictor.model_info["clip"] == "tiny-random" and predictor.model_info["random_weights"]
    assert set(predictor.modules_for_count()) == {"clip"}
    with pytest.raises(ConfigError, match="one 1 x 3 x H x W image"):
        predictor.predict_normalized(torch.zeros(2, 3, 8, 8), (8, 8))


def test_class_names_setting_loads_and_a_bad_file_fails_before_the_model(predictor, tmp_path, monkeypatch):
    from radseg.methods.naclip import predictor as naclip_predictor
    from radseg.methods.naclip.predictor import NaclipPredictor
    f = tmp_path / "mine.txt"
    f.write_text("sky\ndog, puppy\n")
    p = NaclipPredictor(predictor.clip, NaclipSettings(model_version="tiny-random", class_names=str(f)))
    assert p.classes == ["sky", "dog"] and p.query_idx == [0, 1, 1]
    bare = NaclipPredictor(predictor.clip, NaclipSettings(model_version="tiny-random"))
    with pytest.raises(ConfigError, match="no classes"):
        bare.predict(np.zeros((8, 8, 3), np.uint8))

    def no_load(*a, **k):
        raise AssertionError("CLIP was loaded before the class file was checked")
    monkeypatch.setattr(naclip_predictor, "build_clip", no_load)
    with pytest.raises(ClassNamesError, match="naclip/typo"):
        get_method("naclip").build(NaclipSettings(model_version="tiny-random", class_names="naclip/typo"))
    with pytest.raises(ConfigError, match="gaussian_std"):
        get_method("naclip").build(NaclipSettings(gaussian_std=-1))


def test_fp16_runs_as_the_release_on_gpu_and_stays_close_to_fp32(predictor):
    """fp16 weights (LayerNorm in fp32), fp32 sliding-window canvas, fp16 post-processing after PAMR."""
    from radseg.methods.clip import build_clip
    from radseg.methods.naclip.predictor import NaclipPredictor
    p16 = NaclipPredictor(build_clip("tiny-random", precision="fp16"), predictor.settings)
    img = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    r32, r16 = predictor.predict(img, ["sky", "dog|puppy"]), p16.predict(img, ["sky", "dog|puppy"])
    assert p16.text_embeddings.dtype == torch.float16 and r16.probs.dtype == torch.float32
    assert (r16.probs - r32.probs).abs().max() < 2e-2 and (r16.labels == r32.labels).float().mean() > 0.95
    x = torch.zeros(1, 3, 230, 230)
    assert p16.dense_logits(x).dtype == torch.float32  # windows accumulate into the input's dtype
    assert p16.predict_normalized(x, (20, 20)).logits.dtype == torch.float16
