"""radseg.radseg.RADSegEncoder: the RayFronts interface (docs/RAYFRONTS_API.md), on the stand-in."""
import inspect
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from radseg.errors import ConfigError, RADSegError
from radseg.radseg import REFERENCE_DEFAULTS, RayFrontsRADSegEncoder

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "evaluation" / "3d" / "configs"
CLASSES = ["wall", "floor", "chair"]
#: dataset -> (rgb_resolution, resized, windows, grid): the table of RAYFRONTS_API.md section 5
TABLE = {
    "replica": ((640, 1136), (784, 1232), (5, 9), (49, 77)),
    "scannet": ((640, 864), (672, 896), (4, 6), (42, 56)),
    "scannetpp": ((640, 960), (672, 1008), (4, 7), (42, 63)),
}


def enc(**kw):
    kw.setdefault("model_version", "tiny-random")
    kw.setdefault("device", "cpu")
    return RayFrontsRADSegEncoder(**kw)


@pytest.fixture(scope="module")
def feat_enc():
    return enc(slide_crop=224, slide_stride=112)


@pytest.fixture(scope="module")
def pred_enc():
    return enc(slide_crop=224, slide_stride=112, predict=True, classes=CLASSES)


# ------------------------------------------------------------------ interface checklist (section 7)
def test_constructor_keys_and_defaults_are_the_references():
    params = inspect.signature(RayFrontsRADSegEncoder.__init__).parameters
    for name, default in REFERENCE_DEFAULTS.items():
        assert name in params, name
        assert params[name].default == default, name
    assert list(params)[1:len(REFERENCE_DEFAULTS) + 1] == list(REFERENCE_DEFAULTS)  # same order


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="'slide_crops'"):
        enc(slide_crops=224)


@pytest.mark.parametrize("kw, match", [
    (dict(predict=True), "classes"),
    (dict(scga_policy="sometimes"), "scga_policy"),
    (dict(text_query_mode="words"), "text_query_mode"),
    (dict(predict=True, classes="wall, floor"), "list of class names"),
    (dict(predict=True, classes=["wall", "wall"]), "more than once"),
    (dict(slide_crop=200, slide_stride=100), "patch size"),
])
def test_user_mistakes_are_one_clear_error(kw, match):
    with pytest.raises(RADSegError, match=match):
        enc(**kw)


def test_interface_methods_exist(feat_enc):
    for name in ("encode_image_to_feat_map", "encode_labels", "encode_prompts",
                 "align_spatial_features_with_language", "is_compatible_size", "get_nearest_size",
                 "insert_labels_into_templates"):
        assert callable(getattr(feat_enc, name)), name
    sig = inspect.signature(feat_enc.encode_image_to_feat_map).parameters
    assert [(p.name, p.default) for p in list(sig.values())[1:]] == [
        ("orig_img_size", None), ("return_preds", False), ("ignore_label", True)]
    assert inspect.signature(feat_enc.encode_labels).parameters["onehot"].default is True
    assert inspect.signature(feat_enc.encode_prompts).parameters["onehot"].default is True
    assert feat_enc.device == torch.device("cpu")
    assert not hasattr(feat_enc, "num_classes")  # feature mode without classes: AttributeError
    assert len(feat_enc.prompt_templates) == 80


def test_sizes(feat_enc):
    assert feat_enc.get_nearest_size(100, 150) == (96, 144)
    assert feat_enc.is_compatible_size(96, 144) and not feat_enc.is_compatible_size(100, 144)


def test_feature_mode_shapes_and_language_alignment(feat_enc):
    x = torch.rand(1, 3, 120, 200)
    f = feat_enc.encode_image_to_feat_map(x)
    lay = feat_enc.window_layout(120, 200)
    assert f.shape == (1, 32, *lay["grid"])  # raw RADIO width (read from the model)
    aligned = feat_enc.align_spatial_features_with_language(f)
    assert aligned.shape == (1, 48, *lay["grid"])
    t = feat_enc.encode_labels(["wall", "floor"])
    assert t.shape == (2, 48)
    p = feat_enc.encode_prompts(["a wall", "a floor"])
    assert torch.allclose(p.norm(dim=-1), torch.ones(2), atol=1e-5)


def test_predict_mode_zero_channel_onehots_and_maps(pred_enc):
    assert pred_enc.num_classes == 4
    assert pred_enc.cat_index_to_name == {0: "", 1: "wall", 2: "floor", 3: "chair"}
    assert pred_enc.cat_name_to_index["chair"] == 3
    oh = pred_enc.encode_labels(["floor", "wall"])
    assert oh.shape == (2, 4) and oh[0, 2] == 1 and oh[1, 1] == 1 and oh[0, 0] == pytest.approx(1e-10)
    assert torch.equal(pred_enc.encode_prompts(["floor", "wall"]), oh)
    assert pred_enc.encode_labels(["floor"], onehot=False).shape == (1, 48)
    x = torch.rand(2, 3, 90, 130)
    probs, preds = pred_enc.encode_image_to_feat_map(x, return_preds=True)
    assert probs.shape == (2, 4, 90, 130) and preds.shape == (2, 1, 90, 130) and preds.dtype == torch.long
    assert torch.count_nonzero(probs[:, 0]) == 0
    assert int(preds.min()) >= 1  # prediction_thresh 0: nothing is set to the ignore label
    assert torch.equal(pred_enc.align_spatial_features_with_language(probs), probs)  # identity
    no_ignore = pred_enc.encode_image_to_feat_map(x, ignore_label=False)
    assert torch.equal(no_ignore, probs[:, 1:])
    up = pred_enc.encode_image_to_feat_map(x[:1], orig_img_size=(45, 65))
    assert up.shape == (1, 4, 45, 65)
    with pytest.raises(ConfigError, match="'sofa'"):
        pred_enc.encode_labels(["sofa"])


def test_batch_equals_one_image_at_a_time(pred_enc, feat_enc):
    x = torch.rand(2, 3, 80, 112)
    for e in (pred_enc, feat_enc):
        both = e.encode_image_to_feat_map(x)
        one = torch.cat([e.encode_image_to_feat_map(x[i:i + 1]) for i in range(2)])
        assert torch.equal(both, one)


def test_probabilities_are_the_library_encoders(pred_enc):
    """Same numbers as radseg.core.encoder.RADSegEncoder.coarse_probabilities (no second implementation)."""
    from radseg.radseg import normalize_01
    x = torch.rand(1, 3, 96, 160)
    ours = pred_enc.encode_image_to_feat_map(x, ignore_label=False)[0]
    lib = pred_enc.core.coarse_probabilities(normalize_01(x), (96, 160))
    assert torch.equal(ours, lib)


def test_prediction_thresh_sets_ignore_label():
    """Label 0 (ignore) exactly where the max probability is below prediction_thresh."""
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    e = enc(slide_crop=224, slide_stride=112, predict=True, classes=CLASSES, prediction_thresh=1.0)
    probs, preds = e.encode_image_to_feat_map(x, return_preds=True)
    below = probs[:, 1:].amax(dim=1, keepdim=True) < 1.0
    assert below.any() and torch.equal(preds == 0, below)
    thresh = float(probs[:, 1:].amax(dim=1).median())
    e.prediction_thresh = thresh
    probs, preds = e.encode_image_to_feat_map(x, return_preds=True)
    below = probs[:, 1:].amax(dim=1, keepdim=True) < thresh
    assert below.any() and (~below).any() and torch.equal(preds == 0, below)
    assert torch.equal(preds[~below] - 1, probs[:, 1:].argmax(dim=1, keepdim=True)[~below])


def test_leading_empty_class_is_dropped():
    e = enc(slide_crop=224, slide_stride=112, predict=True, classes=["", *CLASSES])
    assert e.num_classes == 4 and e.prompts == CLASSES


def test_scga_policy_multi_window_skips_single_window():
    x = torch.rand(1, 3, 224, 224)  # one window
    always = enc(slide_crop=224, slide_stride=112)
    multi = enc(slide_crop=224, slide_stride=112, scga_policy="multi_window")
    from radseg.radseg import normalize_01
    raw = always.core.feature_map(normalize_01(x))
    assert torch.equal(multi.encode_image_to_feat_map(x), raw)
    assert not torch.allclose(always.encode_image_to_feat_map(x), raw)
    big = torch.rand(1, 3, 224, 336)  # two windows: both apply SCGA
    assert torch.equal(multi.encode_image_to_feat_map(big), always.encode_image_to_feat_map(big))


def test_return_radio_features_false_projects_windows_and_aligns_by_identity():
    e = enc(slide_crop=224, slide_stride=112, return_radio_features=False)
    f = e.encode_image_to_feat_map(torch.rand(1, 3, 112, 224))
    assert f.shape[1] == 48
    assert e.align_spatial_features_with_language(f) is f


def test_sam_refinement_without_predict_is_ignored_as_in_the_reference():
    e = enc(slide_crop=224, slide_stride=112, sam_refinement=True, sam_ckpt="no-such-file.pth")
    assert e.core.sam_refiner is None and e.config.sam_refine is False


def test_sam_refinement_on_the_stand_in():
    e = enc(slide_crop=224, slide_stride=112, predict=True, classes=CLASSES, sam_refinement=True,
            sam_ckpt="tiny-random-sam", coarse_thresh=0.0, minimal_area=0)
    probs = e.encode_image_to_feat_map(torch.rand(1, 3, 96, 128))
    assert probs.shape == (1, 4, 96, 128) and torch.count_nonzero(probs[:, 0]) == 0


# ------------------------------------------------------------------ section 5: window counts and grids
@pytest.mark.parametrize("dataset", sorted(TABLE))
def test_window_counts_and_feature_grids_of_the_table(dataset):
    (h, w), resized, windows, grid = TABLE[dataset]
    e = _shared_eval_encoder()
    lay = e.window_layout(h, w)
    assert lay["resized"] == resized and lay["windows"] == windows and lay["grid"] == grid
    assert lay["num_windows"] == windows[0] * windows[1]


_EVAL_ENC = {}


def _shared_eval_encoder():
    if "e" not in _EVAL_ENC:
        _EVAL_ENC["e"] = enc(slide_crop=336, slide_stride=112)
    return _EVAL_ENC["e"]


# ------------------------------------------------------------------ Hydra (section 3)
hydra = pytest.importorskip("hydra")
from omegaconf import OmegaConf  # noqa: E402


def _encoder_node(path, **overrides):
    cfg = OmegaConf.load(path)
    node = cfg.encoder if "encoder" in cfg else cfg
    for k, v in overrides.items():
        node[k] = v
    return cfg, node


@pytest.mark.parametrize("dataset", sorted(TABLE))
def test_dataset_configs_hold_the_reference_keys(dataset):
    cfg = OmegaConf.load(CONFIGS / f"{dataset}_radseg.yaml")
    assert cfg.encoder._target_ == "radseg.radseg.RayFrontsRADSegEncoder"
    assert list(cfg.dataset.rgb_resolution) == list(TABLE[dataset][0]) == list(cfg.dataset.depth_resolution)
    assert (cfg.encoder.slide_crop, cfg.encoder.slide_stride) == (336, 112)
    assert "classes" in cfg.encoder and cfg.encoder.classes is None
    assert cfg.load_external_gt is (dataset != "scannet")
    assert cfg.prediction_thresh == 0.1 and cfg.k == 5 and cfg.mapping.vox_size == 0.05


@pytest.mark.parametrize("dataset", sorted(TABLE))
def test_hydra_instantiates_the_three_encoder_nodes(dataset):
    """As semseg_eval.py: instantiate(cfg.encoder, classes=dataset.cat_index_to_name[1:])."""
    from hydra.utils import instantiate
    cfg, node = _encoder_node(CONFIGS / f"{dataset}_radseg.yaml", model_version="tiny-random", predict=True)
    cat_index_to_name = ["", *CLASSES]
    kwargs = {"classes": cat_index_to_name[1:]} if "classes" in cfg.encoder else {}
    e = instantiate(cfg.encoder, **kwargs)
    assert isinstance(e, RayFrontsRADSegEncoder) and e.num_classes == 4
    assert e.prompts == CLASSES and e.config.slide_crop == 336 and e.config.slide_stride == 112


def test_hydra_instantiates_rayfronts_own_radseg_node():
    """RayFronts' encoder/radseg.yaml (its own _target_ swapped for ours; ${compile}/${amp} resolved
    from default.yaml's True), with classes injected as mapping_server.py does (key present and None)."""
    from hydra.utils import instantiate
    node = OmegaConf.load(ROOT / "evaluation" / "3d" / "reference" / "rayfronts_encoder_radseg.yaml")
    assert node._target_ == "rayfronts.image_encoders.RADSegEncoder"
    root = OmegaConf.create({"compile": True, "amp": True, "encoder": OmegaConf.to_container(node)})
    root.encoder._target_ = "radseg.radseg.RADSegEncoder"
    del root.encoder["defaults"]
    root.encoder.model_version = "tiny-random"
    e = instantiate(root.encoder)
    assert e.config.compile is True and e.config.amp is True and e.config.slide_crop == 0
    assert e.predict is False and e.return_radio_features is True
    root.encoder.compile = False
    root.encoder.predict = True
    root.encoder.classes = None
    if "classes" in root.encoder and root.encoder.classes is None:
        e = instantiate(root.encoder, classes=CLASSES)
    assert e.num_classes == 4
    f = e.encode_image_to_feat_map(torch.rand(1, 3, 64, 96))  # slide_crop 0: one pass
    assert f.shape == (1, 4, 64, 96)


# ------------------------------------------------------------------ the fake evaluation loop (section 5)
def _compute_semseg_preds(feats_lang, text_embeds, prompt_denoising_thresh=0.5, prediction_thresh=0.1):
    """eval_utils.compute_semseg_preds: softmax(100 cos), denoise, argmax + 1, 0 below the threshold."""
    cos = F.normalize(feats_lang, dim=-1) @ F.normalize(text_embeds, dim=-1).T  # voxels x T
    probs = torch.softmax(100 * cos, dim=-1)
    keep = probs.amax(dim=0, keepdim=True) >= prompt_denoising_thresh
    probs = torch.where(keep, probs, torch.full_like(probs, float("-inf")))
    maxp, pred = probs.max(dim=-1)
    pred = pred + 1
    pred[maxp < prediction_thresh] = 0
    return pred


@pytest.mark.parametrize("predict", [False, True], ids=["feature_aggregation", "probability_aggregation"])
def test_fake_rayfronts_evaluation_loop(predict):
    from hydra.utils import instantiate
    g = torch.Generator().manual_seed(0)
    n_vox = 50
    for dataset in sorted(TABLE):
        (h, w), _, _, grid = TABLE[dataset]
        cfg, _ = _encoder_node(CONFIGS / f"{dataset}_radseg.yaml", model_version="tiny-random", predict=predict)
        with torch.inference_mode():
            encoder = instantiate(cfg.encoder, classes=CLASSES)
            names = CLASSES
            text_embeds = encoder.encode_labels(names)  # querying.text_query_mode: labels
            assert text_embeds.shape == ((3, 4) if predict else (3, 48))
            rgb = torch.rand(1, 3, h, w, generator=g)
            feat_img = encoder.encode_image_to_feat_map(rgb)
            assert feat_img.shape == ((1, 4, h, w) if predict else (1, 32, *grid))
            # mapper: resize to the depth resolution, take valid depth pixels, voxel count-weighted mean
            feat_img = F.interpolate(feat_img, size=(h, w), mode="bilinear", antialias=True)
            valid = torch.rand(h, w, generator=g) > 0.5
            pts = feat_img[0].permute(1, 2, 0)[valid]  # P x C
            vox = torch.randint(0, n_vox, (pts.shape[0],), generator=g)
            sums = torch.zeros(n_vox, pts.shape[1]).index_add_(0, vox, pts)
            counts = torch.zeros(n_vox).index_add_(0, vox, torch.ones(pts.shape[0]))
            voxel_feats = sums[counts > 0] / counts[counts > 0, None]
            feats_lang = encoder.align_spatial_features_with_language(voxel_feats[..., None, None]).squeeze()
            assert feats_lang.shape == (voxel_feats.shape[0], 4 if predict else 48)
            pred = _compute_semseg_preds(feats_lang, text_embeds)
            assert pred.shape == (voxel_feats.shape[0],) and int(pred.max()) <= 3 and int(pred.min()) >= 0
            if predict:  # the one-hots pick the class column: prediction = argmax of the stored probabilities
                assert torch.count_nonzero(voxel_feats[:, 0]) == 0


def test_normalisation_is_radio_input_conditioner_arithmetic():
    """The reference's 3D encoder feeds 0..1 RGB to RADIO's own input conditioner."""
    import torch

    from radseg.models.standins import InputConditioner
    from radseg.radseg import normalize_01
    x = torch.rand(1, 3, 37, 53, generator=torch.Generator().manual_seed(0))
    assert torch.equal(normalize_01(x), InputConditioner()(x))


def test_the_old_name_is_a_deprecated_alias_of_the_adapter():
    import radseg.radseg as rr
    from radseg.core.encoder import RADSegEncoder as CoreEncoder
    with pytest.warns(FutureWarning, match="RayFrontsRADSegEncoder"):
        old = rr.RADSegEncoder
    assert old is RayFrontsRADSegEncoder and old is not CoreEncoder
    with pytest.raises(AttributeError):
        rr.NoSuchEncoder  # noqa: B018
