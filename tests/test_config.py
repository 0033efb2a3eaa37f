"""RADSegConfig: one default per setting, validation, round trips, presets."""
import json

import pytest

from radseg.config import RADSegConfig
from radseg.errors import ConfigError


def test_reference_defaults_algorithm_md_section_8():
    c = RADSegConfig()
    assert (c.model_version, c.lang_model, c.scra_scaling, c.scga_scaling) == ("c-radio_v3-b", None, 10.0, 10.0)
    from radseg.models.versions import resolve_lang_model
    assert resolve_lang_model(c.model_version, c.lang_model) == "siglip2"  # the reference's adaptor
    assert resolve_lang_model("c-radio_v4-h", c.lang_model) == "siglip2-g"
    assert (c.slide_crop, c.slide_stride, c.prompt_denoising_thresh) == (336, 224, 0.5)
    assert (c.sam_refine, c.coarse_thresh, c.minimal_area, c.sam_mask_coff, c.sam_iou_thresh) == \
        (False, 0.10, 225, 0.005, 0.9)
    assert c.amp is False and c.use_scra and c.use_scga


def test_every_setting_has_a_meaning():
    for name in RADSegConfig.field_names():
        assert RADSegConfig.help(name).strip(), name


def test_round_trip_through_json():
    c = RADSegConfig.preset("cityscapes", "high_res", sam_refine=True, scra_scaling=5.0)
    back = RADSegConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and back.scale == (2688, 1344)


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="slide_crp"):
        RADSegConfig.from_dict({"slide_crp": 3})
    assert RADSegConfig.from_dict({"slide_crp": 3}, ignore_unknown=True) == RADSegConfig()


def test_preset_reads_the_table():
    c = RADSegConfig.preset("voc20", "low_res")
    assert (c.scale, c.slide_crop, c.slide_stride, c.coarse_thresh, c.class_names) == \
        ((2048, 336), 224, 112, 0.2, "voc20")
    with pytest.raises(ConfigError, match="unknown dataset 'voc'"):
        RADSegConfig.preset("voc", "low_res")
    with pytest.raises(ConfigError, match="unknown resolution preset 'mid'"):
        RADSegConfig.preset("voc20", "mid")


@pytest.mark.parametrize("change,match", [
    (dict(slide_crop=-336), "slide_crop must be >= 0"),
    (dict(slide_stride=0), "slide_stride must be between 1"),
    (dict(slide_stride=400), "slide_stride must be between 1"),
    (dict(slide_crop=330, slide_stride=110), "multiples of the model's patch size"),
    (dict(prompt_denoising_thresh=1.5), "prompt_denoising_thresh must be between 0 and 1"),
    (dict(prompt_denoising_thresh="0.5"), "prompt_denoising_thresh must be a finite number"),
    (dict(coarse_thresh=-0.1), "coarse_thresh must be between 0 and 1"),
    (dict(coarse_thresh=float("nan")), "coarse_thresh must be a finite number"),
    (dict(sam_iou_thresh=2), "sam_iou_thresh must be between 0 and 1"),
    (dict(scra_scaling=0), "scra_scaling must be positive"),
    (dict(scga_scaling=-1), "scga_scaling must be positive"),
    (dict(minimal_area=-1), "minimal_area must be >= 0"),
    (dict(minimal_area=2.5), "minimal_area must be a whole number"),
    (dict(max_windows_per_batch=0), "max_windows_per_batch must be >= 1"),
    (dict(scale=(2048, 0)), "scale must be two positive integers"),
    (dict(model_version=""), "model_version must be a non-empty name"),
    (dict(sam_refine="yes"), "sam_refine must be True or False"),
])
def test_validate_names_the_bad_setting(change, match):
    with pytest.raises(ConfigError, match=match):
        RADSegConfig().replace(**change).validate(patch_size=16)


def test_zero_crop_is_one_pass_and_valid():
    RADSegConfig(slide_crop=0, slide_stride=0).validate(patch_size=16)
