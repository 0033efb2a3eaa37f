"""``eval.py --method NAME --protocol own|radseg``: the method's settings in the loaded config.

RADSeg keeps the config's ``model`` as it is (protocol ``radseg``: its presets). For a baseline,
:func:`apply_method` replaces the ``model`` settings by the method's settings dataclass: under
``own`` its release's row for the benchmark (``settings_cls.own_preset(dataset)``; the test
pipeline's ``Resize`` then takes ``settings.scale``), under ``radseg`` RADSeg's preset for the
benchmark and resolution (``settings_cls.radseg_protocol(dataset, resolution)``); flags given on
the command line that are the method's settings win, flags of another method are one error line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..commands.preflight import given_settings, no_weights_flag
from ..errors import ConfigError

#: eval.py's flags that are settings (RADSeg's; a baseline takes those its settings have)
SETTING_FLAGS = ("model_version", "lang_model", "scra_scaling", "scga_scaling", "sam_refine", "sam_ckpt",
                 "radio_source", "radio_revision", "radio_repo", "amp", "compile", "fast")


@dataclass(frozen=True)
class MethodChoice:
    """The run's method, its protocol and (a baseline's) checked settings."""
    method: str
    protocol: str
    settings: Optional[Any] = None

    @property
    def is_radseg(self) -> bool:
        return self.method == "radseg"


def choose_protocol(method: str, protocol: Optional[str]) -> str:
    """The protocol of ``method``: a baseline defaults to ``own``, RADSeg has only ``radseg``."""
    if method == "radseg":
        if protocol == "own":
            raise ConfigError("--protocol own is a baseline's own settings; RADSeg's are its presets "
                              "(--protocol radseg, the default for --method radseg).")
        return "radseg"
    return protocol or "own"


def set_pipeline_resize(cfg, scale) -> None:
    """The test pipeline's ``Resize(scale, keep_ratio=True)`` takes ``scale`` (``(long, short)``)."""
    for step in cfg.test_dataloader.dataset.get("pipeline") or []:
        if isinstance(step, dict) and step.get("type") == "Resize":
            step["scale"] = tuple(int(v) for v in scale)
            step["keep_ratio"] = True


def apply_method(cfg, args, dataset: Optional[str], resolution: Optional[str]) -> MethodChoice:
    """Put the method's settings into ``cfg.model`` (see the module doc); returns the choice.

    ``dataset``: the benchmark key (or your own dataset's name); ``resolution``: the config's preset
    folder. Unknown or not-yet-available methods are one error line naming the known ones."""
    from ..methods import get_method
    spec = get_method(getattr(args, "method", None) or "radseg")
    protocol = choose_protocol(spec.name, getattr(args, "protocol", None))
    if spec.name == "radseg":
        no_weights_flag(args)
        return MethodChoice("radseg", protocol)
    cls = spec.settings_cls
    model_options = [kv for kv in (getattr(args, "cfg_options", None) or []) if kv.startswith("model.")]
    if model_options:  # they were merged into RADSeg's model dict, which a baseline replaces
        raise ConfigError(f"--cfg-options {model_options[0]}: model.* keys are RADSeg's settings; method "
                          f"'{spec.name}' takes its settings from --protocol and the flags it has.")
    given = given_settings(args, cls, spec.name, SETTING_FLAGS)
    if protocol == "own":
        settings = cls.own_preset(dataset, **given)
    else:
        settings = cls.radseg_protocol(dataset, resolution).replace(**given)
    settings = settings.validate() or settings
    values = settings.to_dict()
    class_names = values.pop("class_names", None) or cfg.model.class_names
    model = {"type": "RADSegSegmentation", "method": spec.name, "class_names": class_names,
             **{k: cfg.model[k] for k in ("num_classes", "data_preprocessor") if k in cfg.model}}
    model.update(values)
    cfg.model = model
    if protocol == "own" and values.get("scale"):
        set_pipeline_resize(cfg, values["scale"])
    return MethodChoice(spec.name, protocol, settings)
