"""RADSegConfig details that the mutation run (docs/MUTATION.md) found unguarded: boundaries, messages, types."""
from __future__ import annotations

import pytest

from radseg.config import RADSegConfig
from radseg.errors import ConfigError


def test_preset_defaults_to_mid_res():
    assert RADSegConfig.preset("voc20") == RADSegConfig.preset("voc20", "mid_res")
    assert RADSegConfig.preset("voc20").slide_crop == 336


def test_to_dict_is_json_ready():
    d = RADSegConfig(scale=(2048, 448)).to_dict()
    assert d["scale"] == [2048, 448] and type(d["scale"]) is list
    assert RADSegConfig(scale=None).to_dict()["scale"] is None
    assert RADSegConfig.from_dict(RADSegConfig(scale=None).to_dict()) == RADSegConfig(scale=None)


def test_unknown_settings_message_lists_them_and_the_known_ones():
    with pytest.raises(ConfigError) as e:
        RADSegConfig.from_dict({"zz": 1, "aa": 2})
    known = ", ".join(sorted(RADSegConfig.field_names()))
    assert str(e.value) == f"unknown RADSeg setting(s) aa, zz. Known: {known}."


@pytest.mark.parametrize("name", ["prompt_denoising_thresh", "coarse_thresh", "sam_iou_thresh"])
@pytest.mark.parametrize("value", [0.0, 1.0, 0, 1])
def test_thresholds_accept_both_ends(name, value):
    """0 and 1 are valid (``prompt_denoising_thresh=0`` is the README's no-denoising ablation)."""
    RADSegConfig(**{name: value}).validate(patch_size=16)


@pytest.mark.parametrize("name,value,reference", [
    ("prompt_denoising_thresh", 1.01, "the reference uses 0.5."),
    ("sam_iou_thresh", -0.01, "the reference uses 0.9."),
    ("coarse_thresh", 1.5, "the reference uses a per-dataset value."),
])
def test_threshold_message_names_the_reference_value(name, value, reference):
    with pytest.raises(ConfigError) as e:
        RADSegConfig(**{name: value}).validate()
    assert str(e.value) == f"{name} must be between 0 and 1 (got {value}); {reference}"


def test_whole_floats_count_as_integers():
    """``336.0`` (e.g. from a YAML or a --cfg-options float) is a valid crop; ``336.5`` is not."""
    RADSegConfig(slide_crop=336.0, slide_stride=112.0, minimal_area=225.0).validate(patch_size=16)
    with pytest.raises(ConfigError, match=r"slide_crop must be a whole number \(got 336.5\)"):
        RADSegConfig(slide_crop=336.5).validate()


@pytest.mark.parametrize("values", [
    dict(slide_crop=16, slide_stride=1), dict(slide_crop=1, slide_stride=1), dict(minimal_area=0),
    dict(max_windows_per_batch="auto"), dict(max_windows_per_batch=1), dict(max_windows_per_batch=None),
    dict(vitdet_window_size=1), dict(vitdet_window_size=None), dict(scale=(1, 1)), dict(scale=None),
])
def test_smallest_valid_values_are_accepted(values):
    RADSegConfig(**values).validate()


@pytest.mark.parametrize("values,message", [
    (dict(slide_crop=1, slide_stride=2), "slide_stride must be between 1 and slide_crop=1 (got 2); "),
    (dict(vitdet_window_size=0), "vitdet_window_size must be >= 1 or None (got 0)."),
    (dict(vitdet_window_size=2.5), "vitdet_window_size must be a whole number (got 2.5)."),
    (dict(max_windows_per_batch="all"), "max_windows_per_batch must be a whole number (got 'all')."),
    (dict(scale=(0, 448)), "scale must be two positive integers (long_max, short) or None (got (0, 448))."),
])
def test_just_invalid_values_are_refused(values, message):
    with pytest.raises(ConfigError) as e:
        RADSegConfig(**values).validate()
    assert str(e.value).startswith(message), str(e.value)
