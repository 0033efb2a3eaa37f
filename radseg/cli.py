"""The radseg command: segment, eval, data, results, report, demo, bench, models, export.

:data:`COMMANDS` is the one place that registers them: ``name -> (module, what it does)``; each
module has ``add_parser(sub)`` (which sets ``func``) and follows plan -> run -> record
(:mod:`radseg.commands`). Every user mistake (:class:`radseg.errors.RADSegError`) is printed as
one ``error: ...`` line and gives exit status 2; no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Dict, List, Optional, Tuple

from .cli_args import add_common_help, guarded

#: ``radseg <name>``: the module that adds its parser (``add_parser(sub)``), in ``--help`` order.
#: Modules are imported when the parser is built; heavy imports (mmseg, onnx, Gradio) stay
#: inside their functions.
COMMANDS: Dict[str, Tuple[str, str]] = {
    "segment": ("radseg.commands.segment", "images + labels -> label maps and overlays"),
    "eval": ("radseg.commands.eval", "one benchmark through mmengine's test loop (eval.py)"),
    "models": ("radseg.commands.models", "the model versions and SAM sources"),
    "data": ("radseg.data.cli", "prepare and verify datasets"),
    "results": ("radseg.results.cli", "records -> the paper's tables"),
    "report": ("radseg.report.cli", "records -> one offline HTML page"),
    "bench": ("radseg.bench.cli", "speed against the backbone-only limit"),
    "export": ("radseg.deploy.cli", "ONNX export"),
    "demo": ("radseg.demo.cli", "a local web app"),
    "doctor": ("radseg.doctor", "check whether this set-up can reproduce the paper (software, weights, "
                                "data, disk, protocol traps)"),
}


def run_eval_main(argv: Optional[List[str]] = None, prog: Optional[str] = None) -> int:
    """``eval.py`` / ``radseg eval`` (:func:`radseg.commands.eval.main`)."""
    from .commands.eval import main as eval_main
    return eval_main(argv, prog)


def _add_command(sub, name: str, module: str, summary: str) -> None:
    """Add ``radseg <name>`` from ``module``: its ``add_parser(sub)``, or for a module with
    ``add_arguments(parser)`` and ``main(args)`` a sub-parser built here."""
    mod = importlib.import_module(module)
    if hasattr(mod, "add_parser"):
        mod.add_parser(sub)
        return
    p = sub.add_parser(name, help=summary, description=(mod.__doc__ or summary).strip().splitlines()[0])
    mod.add_arguments(p)
    p.set_defaults(func=mod.main)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radseg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, summary) in COMMANDS.items():
        _add_command(sub, name, module, summary)
    return add_common_help(parser)


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval":
        return run_eval_main(argv[1:], prog="radseg eval")
    args = build_parser().parse_args(argv)
    return guarded(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
