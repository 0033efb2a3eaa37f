"""The radseg command: segment, eval, data, results, models.

Every user mistake (:class:`radseg.errors.RADSegError`) is printed as one
``error: ...`` line and gives exit status 2; no traceback.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
from typing import Callable, List, Optional

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


# -- eval -------------------------------------------------------------------------------------------

def run_eval_main(argv: Optional[List[str]] = None, prog: Optional[str] = None) -> int:
    """``eval.py`` / ``radseg eval``."""
    from .mmseg.evaluate import build_parser, run_evaluation
    args = build_parser(prog).parse_args(argv)
    return guarded(lambda: (run_evaluation(args), 0)[1])


# -- segment --------------------------------------------------------------------------------------

def _add_segment(sub):
    p = sub.add_parser("segment", help="segment one image with free-text labels; writes an overlay PNG")
    p.add_argument("image", nargs="?", default=None,
                   help="image file (default: scikit-image's example photo of a cat)")
    p.add_argument("--labels", default=None,
                   help='comma-separated class names, e.g. "sky, grass, sheep" (synonyms joined by |); '
                        'default for the example photo: "cat, wall, floor, blanket"')
    p.add_argument("--out", default=None,
                   help="output prefix or existing folder (default: <image name> in the current folder)")
    p.add_argument("--model_version", "--model-version", default="c-radio_v3-b")
    p.add_argument("--lang_model", "--lang-model", default="siglip2")
    p.add_argument("--scale", type=int, nargs=2, default=[2048, 448], metavar=("LONG", "SHORT"),
                   help="resize like mmseg's Resize(scale, keep_ratio=True) first (default 2048 448)")
    p.add_argument("--slide-crop", "--slide_crop", dest="slide_crop", type=int, default=336)
    p.add_argument("--slide-stride", "--slide_stride", dest="slide_stride", type=int, default=224)
    p.add_argument("--sam-refine", "--sam_refine", dest="sam_refine", action="store_true",
                   help="RADSeg+: refine with SAM")
    p.add_argument("--sam-ckpt", "--sam_ckpt", dest="sam_ckpt", default=None,
                   help="SAM ViT-H checkpoint (default: look up sam_vit_h_4b8939.pth)")
    p.add_argument("--coarse-thresh", "--coarse_thresh", dest="coarse_thresh", type=float, default=0.10)
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    p.add_argument("--radio_source", "--radio-source", choices=("hub", "local", "hf"), default=None)
    p.add_argument("--radio_repo", "--radio-repo", default=None)
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=_run_segment)


def _check_device(name: Optional[str]) -> str:
    import torch
    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise RADSegError(f"--device '{name}' is not a device; use cpu or cuda (cuda:N).") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RADSegError(f"--device {name}: no CUDA GPU is available here; use --device cpu.")
    return name


def _run_segment(args) -> int:
    from .class_names import split_labels
    from .encoder import RADSegEncoder
    from .models.registry import load_plugins
    from .segment import load_image, save_outputs, segment_image
    load_plugins(args.plugin)
    if args.labels is None and args.image is not None:
        raise RADSegError('--labels is required for your own image, e.g. --labels "sky, grass, sheep"')
    classes = split_labels("cat, wall, floor, blanket" if args.labels is None else args.labels)
    if min(args.scale) <= 0:
        raise RADSegError(f"--scale {args.scale[0]} {args.scale[1]}: both sides must be positive.")
    device = _check_device(args.device)
    image, source = load_image(args.image)
    encoder = RADSegEncoder.from_pretrained(
        args.model_version, args.lang_model, device=device, need_sam=args.sam_refine,
        source=args.radio_source, repo_dir=args.radio_repo, slide_crop=args.slide_crop,
        slide_stride=args.slide_stride)
    if args.sam_refine:
        from .models.sam import load_sam
        from .sam_refine import SAMRefiner
        encoder.sam_refiner = SAMRefiner(load_sam(args.sam_ckpt, device=device),
                                         coarse_thresh=args.coarse_thresh)
    result = segment_image(encoder, image, classes, scale=args.scale)
    names = [c[0] for c in classes]
    from pathlib import Path
    default_name = source.split(".")[-1] if source.startswith("skimage.data.") else Path(source).stem
    prefix = args.out or default_name
    if args.out and Path(args.out).is_dir():
        prefix = str(Path(args.out) / default_name)
    ov, lm = save_outputs(image, result, names, prefix)
    print(f"wrote {ov} and {lm}")
    return 0


def _add_models(sub):
    p = sub.add_parser("models", help="list the model versions and SAM sources this install knows")
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=_run_models)


def _run_models(args) -> int:
    from .models import available_models, available_sam_models, load_plugins
    from .models.radio import DEFAULT_HUB_REVISION
    load_plugins(args.plugin)
    print("model versions: " + ", ".join(available_models()))
    print("SAM sources:    " + (", ".join(available_sam_models()) or "(checkpoint files only)"))
    print(f"RADIO torch.hub revision (default pin): {DEFAULT_HUB_REVISION}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radseg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_segment(sub)
    ev = sub.add_parser("eval", help="evaluate one benchmark config (same flags as eval.py)",
                        add_help=False)
    ev.set_defaults(func=None)
    _add_models(sub)
    try:
        from .data.cli import add_parser as add_data
        add_data(sub)
    except ImportError:  # pragma: no cover
        pass
    try:
        from .results.cli import add_parser as add_results
        add_results(sub)
    except ImportError:  # pragma: no cover
        pass
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval":
        return run_eval_main(argv[1:], prog="radseg eval")
    args = build_parser().parse_args(argv)
    return guarded(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
