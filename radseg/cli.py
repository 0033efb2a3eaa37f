"""The radseg command: segment, eval, data, results, report, demo, bench, models.

Every user mistake (:class:`radseg.errors.RADSegError`) is printed as one
``error: ...`` line and gives exit status 2; no traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from .cli_args import add_common_help, config_flag, guarded
from .errors import RADSegError

# -- eval -------------------------------------------------------------------------------------------

def run_eval_main(argv: Optional[List[str]] = None, prog: Optional[str] = None) -> int:
    """``eval.py`` / ``radseg eval``. The parser and the config path are checked before mmseg
    is imported (about 6 s): ``--help`` and a mistyped ``--config`` answer at once."""
    from .eval_args import build_parser, resolve_config_path
    args = build_parser(prog).parse_args(argv)

    def run() -> int:
        if args.config is not None:
            resolve_config_path(args)
        from .mmseg.evaluate import run_evaluation
        run_evaluation(args)
        return 0
    return guarded(run)


# -- segment --------------------------------------------------------------------------------------

class _SegmentHelp(argparse.HelpFormatter):
    """Fills ``{models}`` in help texts with the registry's names, only when help is shown."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "{models}" in text:
            try:
                from .models import available_models
                names = ", ".join(available_models())
            except Exception:  # pragma: no cover - a broken plugin must not break --help
                names = "see `radseg models`"
            text = text.replace("{models}", names)
        return text


def _add_segment(sub):
    from .models.registry import AllowUnpinnedAction
    p = sub.add_parser("segment", help="segment images with free-text labels; writes label maps and overlays",
                       formatter_class=_SegmentHelp,
                       description="Segment images into the classes named by --labels. One image: writes "
                                   "<name>_overlay.png (image, class colours, legend) and <name>_labels.png. "
                                   "Several images, folders, patterns or --list: one model load, outputs under "
                                   "--out DIR at each image's relative path, a manifest.jsonl, resumable "
                                   "(docs/SEGMENT.md).")
    p.add_argument("image", nargs="*", default=None, metavar="IMAGE",
                   help="image files, folders or glob patterns (default: scikit-image's example photo of a "
                        "cat); 16-bit images are scaled to 8 bits, images above 16 MP downscaled, above "
                        "100 MP refused")
    p.add_argument("--list", dest="list_file", default=None, metavar="FILE",
                   help="also segment the images listed in FILE (one path per line, relative to FILE's folder)")
    p.add_argument("--recursive", "-r", action="store_true", help="look for images in the folders' sub-folders too")
    p.add_argument("--no-overlay", dest="overlay", action="store_false",
                   help="collections: write only the label maps (and --save-probs), no overlays")
    p.add_argument("--save-probs", "--save_probs", dest="save_probs", action="store_true",
                   help="collections: also write <name>_probs.npy (float16, K x H x W class probabilities)")
    p.add_argument("--force", action="store_true",
                   help="collections: redo images whose outputs exist with the same settings (default: skip them)")
    p.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=1,
                   help="collections: equal-size images per backbone call (default 1)")
    p.add_argument("--num-workers", "--num_workers", dest="num_workers", type=int, default=None,
                   help="collections: background processes that decode and resize images (default: 2, at most "
                        "the CPU cores - 1; 0 = in the main process)")
    p.add_argument("--labels", default=None,
                   help='comma-separated class names, e.g. "sky, grass, sheep" (synonyms joined by |); '
                        'default for the example photo: "cat, wall, floor, blanket"')
    p.add_argument("--out", default=None,
                   help="one image: output prefix or existing folder (default: <image name> in the current "
                        "folder); collections: the output folder (default ./segmented)")
    config_flag(p, "--model_version", "--model-version",
                help="model (default {default}; downloaded once): {models}; or a RADIO .pth.tar "
                     "checkpoint. tiny-random is a built-in stand-in with random weights: it needs no "
                     "download and shows the toolkit works, not real segmentations")
    config_flag(p, "--lang_model", "--lang-model")
    config_flag(p, "--scale", type=int, nargs=2, metavar=("LONG", "SHORT"))
    config_flag(p, "--slide-crop", "--slide_crop", type=int)
    config_flag(p, "--slide-stride", "--slide_stride", type=int)
    config_flag(p, "--sam-refine", "--sam_refine", action="store_const", const=True)
    config_flag(p, "--sam-ckpt", "--sam_ckpt")
    config_flag(p, "--coarse-thresh", "--coarse_thresh", type=float)
    config_flag(p, "--fast", action="store_const", const=True)
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    p.add_argument("--radio_source", "--radio-source", choices=("hub", "local", "hf"), default=None)
    p.add_argument("--radio_revision", "--radio-revision", default=None,
                   help="RADIO code revision: a 40-hex commit (default: the pinned NVlabs/RADIO commit; "
                        "required with --radio_source hf)")
    p.add_argument("--radio_repo", "--radio-repo", default=None)
    p.add_argument("--allow-unpinned", "--allow_unpinned", dest="allow_unpinned", action=AllowUnpinnedAction,
                   help="accept a --radio_revision that is not a 40-hex commit (a branch or tag: remote "
                        "code that can change)")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                   help="torch (default), or onnxruntime: the graphs of a `radseg export onnx` folder "
                        "(--model-dir; docs/DEPLOY.md)")
    p.add_argument("--model-dir", "--model_dir", dest="model_dir", default=None,
                   help="the export folder for --backend onnxruntime")
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=_run_segment)


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr)


def _run_segment(args) -> int:
    from pathlib import Path

    from .class_names import split_labels
    from .errors import ClassNamesError
    from .models.registry import load_plugins
    load_plugins(args.plugin)
    images = list(args.image or [])
    if args.labels is None and (images or args.list_file):
        raise RADSegError('--labels is required for your own image, e.g. --labels "sky, grass, sheep"')
    from .segment_many import is_collection
    if is_collection(images, args.list_file):
        from .segment_cli import run_segment_collection
        return run_segment_collection(args)
    args.image = images[0] if images else None
    classes = split_labels("cat, wall, floor, blanket" if args.labels is None else args.labels)
    if len(classes) > 256:
        raise ClassNamesError(f"--labels names {len(classes)} classes; the label-map PNG holds at most 256.")
    from .segment_cli import backend_config, build_segment_predictor
    onnx_export, config = backend_config(args, classes)
    from .predictor import resolve_device
    device = resolve_device(args.device)
    from .models.radio import check_pinned, resolve_model_source
    if onnx_export is None:
        resolve_model_source(config.model_version)  # an unknown name fails before the image is read
    check_pinned(config.radio_source, config.radio_revision, config.allow_unpinned)
    if config.sam_refine and onnx_export is None:  # a missing or corrupt SAM checkpoint fails before RADIO loads
        from .models.sam import resolve_sam
        config = config.replace(sam_ckpt=resolve_sam(config.sam_ckpt, model_version=config.model_version))
    from .segment import check_image_path, check_output_prefix, load_image, output_paths, save_outputs
    if args.image is not None:
        check_image_path(args.image)
    # the outputs must be writable before any work is done
    default_name = "chelsea" if args.image is None else Path(args.image).stem
    prefix = args.out or default_name
    if args.out and Path(args.out).is_dir():
        prefix = str(Path(args.out) / default_name)
    check_output_prefix(prefix)
    image, source = load_image(args.image, notify=_note)
    predictor = build_segment_predictor(onnx_export, config, device)
    from .segment_cli import weights_notice
    weights_notice(predictor, _note)
    result = predictor.predict(image, classes)
    names = [c[0] for c in classes]
    if args.overlay:
        ov, lm = save_outputs(image, result, names, prefix, notify=_note)
        written = [ov, lm]
    else:
        lm = output_paths(prefix)[1]
        lm.parent.mkdir(parents=True, exist_ok=True)
        result.label_image().save(lm)
        written = [lm]
    if args.save_probs:
        import numpy as np
        probs_path = Path(str(prefix) + "_probs.npy")
        np.save(probs_path, result.probs.cpu().numpy().astype(np.float16))
        written.append(probs_path)
    print("wrote " + (" and ".join(str(w) for w in written) if len(written) < 3
                      else ", ".join(str(w) for w in written[:-1]) + f" and {written[-1]}"))
    return 0


def _add_models(sub):
    p = sub.add_parser("models", help="list the model versions and SAM sources: real, stand-in or random "
                                      "replica, and whether their weights are cached here")
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=_run_models)


def _run_models(args) -> int:
    from .models import load_plugins
    from .models.radio import DEFAULT_HUB_REVISION
    load_plugins(args.plugin)
    from .models.listing import describe_models, describe_sam, format_rows
    print("model versions (--model_version):")
    print("\n".join(format_rows(describe_models())))
    print("SAM sources (--sam_ckpt):")
    print("\n".join(format_rows(describe_sam())))
    print(f"RADIO torch.hub revision (default pin): {DEFAULT_HUB_REVISION}")
    print("Random weights make meaningless segmentations: they show that the toolkit runs. Results made "
          "with them are marked in eval.py's record, `radseg results` and `radseg report`.")
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
    try:
        from .report.cli import add_parser as add_report
        add_report(sub)
    except ImportError:  # pragma: no cover
        pass
    from .bench.cli import add_parser as add_bench
    add_bench(sub)
    from .deploy.cli import add_parser as add_export  # imports onnx only when `radseg export` runs
    add_export(sub)
    from .demo.cli import add_parser as add_demo  # imports Gradio only when `radseg demo` runs
    add_demo(sub)
    from . import doctor
    doctor.add_arguments(sub.add_parser("doctor", help="check whether this set-up can reproduce the paper "
                                        "(software, weights, data, disk, protocol traps)"))
    sub.choices["doctor"].set_defaults(func=doctor.main)
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
