"""``radseg models``: the model versions and SAM sources, their kind and whether they are cached."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help="list the model versions and SAM sources: real, stand-in or random "
                                      "replica, and whether their weights are cached here")
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..models import load_plugins
    from ..models.radio import DEFAULT_HUB_REVISION
    load_plugins(args.plugin)
    from ..models.listing import describe_models, describe_sam, format_rows
    print("model versions (--model_version):")
    print("\n".join(format_rows(describe_models())))
    print("SAM sources (--sam_ckpt):")
    print("\n".join(format_rows(describe_sam())))
    print(f"RADIO torch.hub revision (default pin): {DEFAULT_HUB_REVISION}")
    print("Random weights make meaningless segmentations: they show that the toolkit runs. Results made "
          "with them are marked in eval.py's record, `radseg results` and `radseg report`.")
    return 0
