"""Every RADSeg setting has exactly one default in the code: RADSegConfig's.

Each command line that offers a setting of RADSegConfig leaves the flag's own default
unset (None: "not given", so the config's value applies) and shows the config's default
in its help; the values the flags produce are the config's.
"""
import argparse
import re

import pytest

from radseg.config import RADSegConfig

DEFAULTS = RADSegConfig.defaults()


def _subparser(name):
    from radseg.cli import build_parser
    root = build_parser()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _eval_parser():
    from radseg.mmseg.evaluate import build_parser
    return build_parser()


def _sweep_parser():
    from radseg.sweep import build_parser
    return build_parser()


def _export_onnx_parser():
    sub = next(a for a in _subparser("export")._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["onnx"]


#: every parser of the toolkit that offers a RADSegConfig setting (test_every_parser_is_checked
#: keeps this list complete against radseg.cli.COMMANDS)
PARSERS = {"segment": lambda: _subparser("segment"), "demo": lambda: _subparser("demo"),
           "eval.py": _eval_parser, "sweep": _sweep_parser, "export onnx": _export_onnx_parser,
           "bench": lambda: _subparser("bench")}
#: commands whose flags hold no RADSegConfig setting (checked below: they really hold none)
NO_SETTINGS = ("models", "data", "results", "report", "doctor")

#: settings a command deliberately sets differently, with the reason (shown in its help)
EXCEPTIONS = {("sweep", "sam_refine"): "a grid axis (both, on, off), not one run's setting",
              ("bench", "model_version"): "a full-size random replica: speed needs no weights (help says so)",
              ("bench", "fast"): "shorthand of the --mode axis (exact, fast, both), not one run's setting",
              # a second default (the config's is None = all windows): left to the bench's restructuring
              ("bench", "max_windows_per_batch"): "speed runs default to 'auto' (from free GPU memory)",
              ("bench", "sam_iou_thresh"): "-1 keeps every mask so random weights time the whole merge (help says so)"}


def _shown(value):
    return " ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_config_flags_default_to_the_config(command):
    parser = PARSERS[command]()
    seen = []
    for action in parser._actions:
        if action.dest not in DEFAULTS:
            continue
        seen.append(action.dest)  # an exception counts as offered: its own default is its reason
        if (command, action.dest) in EXCEPTIONS:
            continue
        assert action.default is None, f"{command} {action.option_strings}: own default {action.default!r}"
        m = re.search(r"default:? ([^;)]+)", action.help or "")
        if m and DEFAULTS[action.dest] is not None:
            assert m.group(1).strip().startswith(_shown(DEFAULTS[action.dest])), (command, action.dest, m.group(1))
    assert seen, f"{command} offers no RADSegConfig setting?"


def test_segment_flags_not_given_give_the_config_defaults():
    from radseg.cli_args import config_from_args
    args = _subparser("segment").parse_args([])
    assert config_from_args(args) == RADSegConfig()
    args = _subparser("segment").parse_args(["--slide-crop", "224", "--slide-stride", "112", "--sam-refine"])
    cfg = config_from_args(args)
    assert (cfg.slide_crop, cfg.slide_stride, cfg.sam_refine, cfg.scra_scaling) == (224, 112, True, 10.0)


def test_library_signatures_take_their_defaults_from_the_config():
    """The encoder, the refiner and the loader default to RADSegConfig's values."""
    import inspect

    from radseg.core.encoder import RADSegEncoder
    from radseg.core.sam_refine import SAMRefiner, dense_mask_prompt, extract_regions, merge_refined
    from radseg.models.radio import build_radio
    for fn in (RADSegEncoder.__init__, RADSegEncoder.from_pretrained, SAMRefiner.__init__, extract_regions,
               dense_mask_prompt, merge_refined, build_radio):
        for name, p in inspect.signature(fn).parameters.items():
            if name == "allow_unpinned" and p.default is None:
                continue  # None: "$RADSEG_ALLOW_UNPINNED decides" (radseg.models.radio.check_pinned)
            if name in DEFAULTS and p.default is not inspect.Parameter.empty:
                assert p.default == DEFAULTS[name], (fn.__qualname__, name, p.default)


def test_every_parser_is_checked():
    """Each command of radseg.cli.COMMANDS is in PARSERS or offers no RADSegConfig setting at all."""
    from radseg.cli import COMMANDS
    covered = {name.split()[0] for name in PARSERS} | {"eval"}  # eval: eval.py's parser
    for name in COMMANDS:
        if name in covered:
            continue
        assert name in NO_SETTINGS, f"radseg {name} is neither checked (PARSERS) nor listed in NO_SETTINGS"
        parsers = [_subparser(name)]
        while parsers:
            p = parsers.pop()
            for action in p._actions:
                if isinstance(action, argparse._SubParsersAction):
                    parsers += list(action.choices.values())
                else:
                    assert action.dest not in DEFAULTS, f"radseg {name} {action.option_strings} is a setting"
