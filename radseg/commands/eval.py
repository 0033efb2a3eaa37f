"""``eval.py`` / ``radseg eval``: one benchmark (or your own dataset) through mmengine's test loop.

The parser (:mod:`radseg.eval_args`) and the ``--config`` path are checked before mmseg is
imported (about 7 s): ``--help`` and a mistyped config answer at once. Then
:mod:`radseg.mmseg.evaluate`: ``plan_evaluation`` (every check, no model) -> ``run_plan``
(the model, mmengine's runner, the test loop) -> ``record_evaluation`` (the JSON record).
"""
from __future__ import annotations

import argparse
from typing import List, Optional


def add_parser(sub) -> argparse.ArgumentParser:
    """``radseg eval``: a placeholder for ``--help``; :func:`radseg.cli.main` hands its argv to :func:`main`."""
    p = sub.add_parser("eval", help="evaluate one benchmark config (same flags as eval.py)", add_help=False)
    p.set_defaults(func=None)
    return p


def main(argv: Optional[List[str]] = None, prog: Optional[str] = None) -> int:
    """Parse ``argv`` as eval.py does, evaluate; the exit status (errors: one line, 2)."""
    from ..cli_args import guarded
    from ..eval_args import build_parser, resolve_config_path
    args = build_parser(prog).parse_args(argv)

    def run() -> int:
        if args.config is not None:
            resolve_config_path(args)
        from ..mmseg.evaluate import run_evaluation
        run_evaluation(args)
        return 0
    return guarded(run)
