"""argparse with one-line errors: ``error: <what is wrong> (see <prog> --help)`` and exit 2.

argparse's own ``error`` prints the whole usage block first; the entry points promise
exactly one ``error:`` line on stderr for any user mistake, flags included.
:func:`guarded` does the same for a :class:`radseg.errors.RADSegError` raised while a
command runs (every entry point: ``radseg``, ``eval.py``, the sweep, ``radseg bench``).
No heavy imports.
"""
from __future__ import annotations

import argparse
import re
import sys
import types
from typing import Callable

from .errors import RADSegError

# mmengine's registry re-raises build errors as "class `X` in module: <message>".
_REGISTRY_PREFIX = re.compile(r"^(class `\w+` in [\w.]+: )+")


def user_message(err: BaseException) -> str:
    return _REGISTRY_PREFIX.sub("", str(err).strip())


def _worker_message(text: str) -> str:
    """The original message of an error re-raised from a DataLoader worker (else ``text``)."""
    if "Original Traceback" not in text:
        return text
    m = re.search(r"radseg\.errors\.\w+: (.+?)\s*$", text, re.S)
    return m.group(1).strip() if m else text.strip().splitlines()[-1]


def guarded(fn: Callable[[], int]) -> int:
    """Run ``fn``; turn a :class:`RADSegError` into one line on stderr and exit status 2."""
    try:
        return fn() or 0
    except RADSegError as e:
        # DataLoader workers re-raise our errors (same class) with the worker traceback
        # in the message: show the original message only.
        print(f"error: {_worker_message(user_message(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        text = str(e)
        if "Original Traceback" in text and "radseg.errors." in text:
            print(f"error: {_worker_message(text)}", file=sys.stderr)
            return 2
        raise


def _one_line_error(parser: argparse.ArgumentParser, message: str):
    print(f"error: {message} (see {parser.prog} --help)", file=sys.stderr)
    sys.exit(2)


class OneLineArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one ``error:`` line (exit 2)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        _one_line_error(self, message)


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give an existing parser (e.g. one made by ``subparsers.add_parser``) one-line errors."""
    parser.error = types.MethodType(_one_line_error, parser)
    return parser


def _field_of(flags) -> str:
    longs = [f for f in flags if f.startswith("--")]
    return (longs[0] if longs else flags[0]).lstrip("-").replace("-", "_")


def config_flag(parser: argparse.ArgumentParser, *flags: str, help: str = None, **kwargs):
    """A flag for a :class:`radseg.config.RADSegConfig` setting: its default stays the config's
    (the flag's own default is ``None``, "not given") and its help is the config's meaning.

    ``help`` may use ``{default}`` (and any other ``str.format`` field the caller fills in
    later, written as ``{{name}}``)."""
    from .config import RADSegConfig
    name = kwargs.pop("dest", None) or _field_of(flags)
    default = RADSegConfig.defaults()[name]
    shown = " ".join(str(v) for v in default) if isinstance(default, tuple) else default
    text = help.replace("{default}", str(shown)) if help else f"{RADSegConfig.help(name)} (default {shown})"
    return parser.add_argument(*flags, dest=name, default=None, help=text.replace("%", "%%"), **kwargs)


def config_from_args(args, base=None, **extra):
    """``base`` (default: the reference defaults) with every setting the command line gave
    (flags whose value is not ``None``), validated. Returns a :class:`RADSegConfig`."""
    from .config import RADSegConfig
    base = base if base is not None else RADSegConfig()
    given = {k: v for k, v in vars(args).items() if k in RADSegConfig.field_names() and v is not None}
    if isinstance(given.get("scale"), list):
        given["scale"] = tuple(given["scale"])
    return base.replace(**given, **extra).validate()


#: The help of flags that several commands share, written once (filled in where a command
#: gives none; a command's own help wins).
COMMON_HELP = {
    "--radio_source": "where RADIO comes from: hub (NVlabs/RADIO at the pinned commit, cached by torch.hub), "
                      "local (a clone: --radio_repo) or hf (Hugging Face, needs --radio_revision COMMIT)",
    "--radio_revision": "RADIO code revision: a 40-hex commit (default: the pinned NVlabs/RADIO commit; required "
                        "with --radio_source hf)",
    "--radio_repo": "a local clone of https://github.com/NVlabs/RADIO, for air-gapped use (default "
                    "$RADSEG_RADIO_REPO)",
    "--plugin": "import this Python module first (repeatable); it may register model sources "
                "(radseg.models.register_model_source)",
    "--launcher": "distributed launcher: none (default), pytorch (torchrun), slurm or mpi",
    "--local_rank": "set by older torch.distributed launchers; not needed with torchrun",
    "--num-workers": "data loader worker processes (default: the config's, at most the number of CPU cores)",
    "--amp": "fp16 autocast for the backbone, True/False (CUDA only; changes the numbers)",
    "--compile": "torch.compile the backbone, True/False",
    "--cfg-options": "override config keys, mmengine style, e.g. model.slide_stride=112",
}


def add_common_help(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every flag of ``parser`` (and of its sub-commands) without help the shared text of
    :data:`COMMON_HELP`; returns ``parser``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                add_common_help(sub)
        elif not action.help and action.help != argparse.SUPPRESS:
            for flag in action.option_strings:
                if flag in COMMON_HELP:
                    action.help = COMMON_HELP[flag].replace("%", "%%")
                    break
    return parser


def add_method_flags(parser: argparse.ArgumentParser, protocol: bool = True) -> None:
    """``--method NAME`` (default radseg) and, for evaluations, ``--protocol own|radseg``."""
    parser.add_argument("--method", default="radseg",
                        help="segmentation method: radseg (default) or a registered baseline "
                             "(`radseg.methods.method_names()`; plugins may add more)")
    parser.add_argument("--weights", nargs="+", default=None, metavar="MODEL=PATH",
                        help="a baseline's weights from local files in their official layout, e.g. "
                             "clip=ViT-B-16.pt dino=dino_vitbase16_pretrain.pth sam=sam_vit_b_01ec64.pth "
                             "(default: each model's download cache; docs/BASELINES.md)")
    if protocol:
        parser.add_argument("--protocol", choices=("own", "radseg"), default=None,
                            help="a baseline's settings per benchmark: own (default for a baseline: its "
                                 "release's crop, stride, resize, prob_thd and class files) or radseg "
                                 "(RADSeg's presets and class prompts, like for like); radseg for RADSeg")
