"""The method registry: names, the unavailable ProxyCLIP, settings round-trips."""
from dataclasses import dataclass

import pytest

from radseg.errors import ConfigError
from radseg.methods import MethodSettings, MethodSpec, get_method, method_names, register_method
from radseg.methods.registry import METHODS
from radseg.methods.settings import setting


def test_radseg_is_registered_first_and_proxyclip_is_known_but_unavailable():
    names = method_names()
    assert names[0] == "radseg" and "proxyclip" in names
    assert get_method("RADSeg").name == "radseg"
    with pytest.raises(ConfigError, match="not yet available.*PROXYCLIP.md"):
        get_method("proxyclip")
    assert not get_method("proxyclip", require_available=False).available


def test_unknown_method_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown method 'nope'\. Known: radseg"):
        get_method("nope")


@dataclass
class _ToySettings(MethodSettings):
    METHOD = "toy"
    PRESETS = {"voc20": {"crop": 224}}
    TUPLE_FIELDS = ("scale",)
    crop: int = setting(336, "window")
    scale: tuple = setting((2048, 336), "resize")

    def validate(self):
        return self


def test_settings_round_trip_presets_and_hash():
    s = _ToySettings.own_preset("voc20")
    assert s.crop == 224 and s.scale == (2048, 336)
    assert _ToySettings.from_dict(s.to_dict()) == s and s.to_dict()["scale"] == [2048, 336]
    assert s.config_hash() != _ToySettings().config_hash()
    with pytest.raises(ConfigError, match="unknown toy setting"):
        _ToySettings.from_dict({"crap": 1})
    with pytest.raises(ConfigError, match="no own-protocol settings for dataset 'ade20k'"):
        _ToySettings.own_preset("ade20k")


def test_register_refuses_a_second_spec_under_one_name():
    spec = MethodSpec(name="toy-reg", summary="x")
    try:
        register_method(spec)
        with pytest.raises(ValueError, match="already registered"):
            register_method(MethodSpec(name="toy-reg", summary="y"))
    finally:
        METHODS.pop("toy-reg", None)
