"""``radseg segment``: images + free-text labels -> label maps and overlays.

*plan* (:func:`plan_segment`): labels, settings, backend, model name, pin, SAM checkpoint, the
inputs and that the outputs can be written (one probe-file check for both forms), no model
loaded. *run* (:func:`run_segment`): one model load, then the images. *record*: one image writes
``<prefix>_overlay.png`` / ``_labels.png`` (and ``_probs.npy``) and a ``wrote ...`` line; a
collection writes its files under ``--out`` with ``manifest.jsonl`` and a summary line, exit
status 1 when some images could not be read (listed by name). A single image is a collection of
one item: the same plan, predictor and notices; only where its outputs go differs (documented).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import RADSegError
from .preflight import build_predictor, checked_config, no_weights_flag, note, parse_labels

DEFAULT_LABELS = "cat, wall, floor, blanket"  # the example photo's classes


class _SegmentHelp(argparse.HelpFormatter):
    """Fills ``{models}`` in help texts with the registry's names, only when help is shown."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "{models}" in text:
            try:
                from ..models import available_models
                names = ", ".join(available_models())
            except Exception:  # pragma: no cover - a broken plugin must not break --help
                names = "see `radseg models`"
            text = text.replace("{models}", names)
        return text


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from ..cli_args import add_method_flags, config_flag
    from ..models.registry import AllowUnpinnedAction
    add_method_flags(p, protocol=False)
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
                        f'default for the example photo: "{DEFAULT_LABELS}"')
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
    return p


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("segment", help="segment images with free-text labels; writes label maps and overlays",
                       formatter_class=_SegmentHelp,
                       description="Segment images into the classes named by --labels. One image: writes "
                                   "<name>_overlay.png (image, class colours, legend) and <name>_labels.png. "
                                   "Several images, folders, patterns or --list: one model load, outputs under "
                                   "--out DIR at each image's relative path, a manifest.jsonl, resumable "
                                   "(docs/SEGMENT.md).")
    add_arguments(p)
    p.set_defaults(func=main)
    return p


# -- plan -----------------------------------------------------------------------------------------

@dataclass
class SegmentPlan:
    """Everything ``radseg segment`` checked before loading a model.

    ``items``: the images (a single image is a list of one); ``single``: the one-image form (outputs
    at ``prefix``), else a collection under ``out_dir``; ``missing``: ``{item index: error}`` of
    ``--list`` entries that do not exist (reported by the plan, skipped by the run); ``image``: the
    one image, decoded (``H x W x 3`` uint8)."""
    args: argparse.Namespace
    classes: List[List[str]]
    onnx_export: Optional[object]
    config: object
    device: object
    single: bool
    items: list
    prefix: Optional[str] = None
    out_dir: Optional[Path] = None
    workers: int = 0
    ignored: List[str] = field(default_factory=list)
    missing: Dict[int, str] = field(default_factory=dict)
    image: Optional[object] = None


def default_workers() -> int:
    return max(0, min(2, (os.cpu_count() or 1) - 1))


def _rank() -> int:
    return int(os.environ.get("RANK", 0) or 0)


def _rank_device(name: Optional[str]):
    """``--device`` as given, else under torchrun with GPUs: ``cuda:<LOCAL_RANK>``."""
    import torch

    from ..predictor import resolve_device
    if name is None and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return resolve_device(f"cuda:{int(os.environ['LOCAL_RANK'])}")
    return resolve_device(name)


def _single_prefix(args) -> str:
    """The one image's output prefix: ``--out`` (a folder: the image's name in it), else its name."""
    default_name = "chelsea" if args.image is None else Path(args.image).stem
    if args.out and Path(args.out).is_dir():
        return str(Path(args.out) / default_name)
    return args.out or default_name


def _missing_list_entries(items, list_file) -> Dict[int, str]:
    """``{index: error}`` of the ``--list`` entries that are not files (checked before the model loads)."""
    if not list_file:
        return {}
    return {i: f"--list entry '{it.source}' does not exist" for i, it in enumerate(items)
            if not os.path.isfile(it.source) and "://" not in it.source}


def _checked_settings(args, classes, single: bool):
    """``(onnx export or None, settings)``: RADSeg's through the whole pre-flight, another method's
    settings dataclass from the flags (collections run RADSeg only)."""
    if getattr(args, "method", "radseg") in (None, "radseg"):
        no_weights_flag(args)
        return checked_config(args, classes)
    from .preflight import method_settings
    if args.backend != "torch" or args.model_dir is not None:
        raise RADSegError(f"--backend onnxruntime exports RADSeg only; drop it for --method {args.method}.")
    spec, settings = method_settings(args)
    if not single:
        raise RADSegError(f"--method {spec.name}: collections (folders, patterns, --list) run RADSeg only so "
                          f"far; segment one image per call.")
    return None, settings


def plan_segment(args) -> SegmentPlan:
    """Parse and check everything of ``radseg segment`` (see the module doc); loads no model."""
    from ..models.registry import load_plugins
    from ..segment_many import DEFAULT_OUT, check_flags, check_out_dir, collect_inputs, is_collection
    load_plugins(args.plugin)
    images = list(args.image or [])
    if args.labels is None and (images or args.list_file):
        raise RADSegError('--labels is required for your own image, e.g. --labels "sky, grass, sheep"')
    single = not is_collection(images, args.list_file)
    classes = parse_labels(DEFAULT_LABELS if args.labels is None else args.labels)
    workers = 0
    if not single:
        workers = default_workers() if args.num_workers is None else args.num_workers
        check_flags(args.batch_size, workers)
    onnx_export, config = _checked_settings(args, classes, single)
    device = _rank_device(args.device)
    if single:
        from ..segment import check_image_path, check_output_prefix
        from ..segment_many import Item
        args.image = images[0] if images else None
        if args.image is not None:
            check_image_path(args.image)
        prefix = _single_prefix(args)
        check_output_prefix(prefix)  # the outputs must be writable before any work is done
        from ..segment import load_image
        image, _ = load_image(args.image, notify=note)  # a broken image fails before the model loads
        return SegmentPlan(args, classes, onnx_export, config, device, True,
                           [Item(args.image or "chelsea", Path(prefix).name)], prefix=prefix, image=image)
    items, ignored = collect_inputs(images, args.recursive, args.list_file)
    out_dir = check_out_dir(args.out or DEFAULT_OUT)
    return SegmentPlan(args, classes, onnx_export, config, device, False, items, out_dir=out_dir,
                       workers=workers, ignored=ignored, missing=_missing_list_entries(items, args.list_file))


def report_plan(plan: SegmentPlan) -> None:
    """What the plan found that the user should know before the run starts (rank 0 only)."""
    if _rank() != 0:
        return
    if plan.ignored:
        shown = ", ".join(plan.ignored[:5]) + (f", ... (+{len(plan.ignored) - 5} more)"
                                               if len(plan.ignored) > 5 else "")
        note(f"{len(plan.ignored)} file(s) without an image suffix not read: {shown}")
    for err in plan.missing.values():
        print(f"error: {err} (skipped; the run goes on)", file=sys.stderr)


# -- run and record -------------------------------------------------------------------------------

def _write_single(plan: SegmentPlan, predictor) -> int:
    """The one-image form: predict, write ``<prefix>_*`` files, print ``wrote ...``."""
    from ..segment import output_paths, save_outputs
    args, prefix, image = plan.args, plan.prefix, plan.image
    result = predictor.predict(image, plan.classes)
    if args.overlay:
        written = list(save_outputs(image, result, [c[0] for c in plan.classes], prefix, notify=note))
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


def _run_collection(plan: SegmentPlan, predictor, weights: Optional[str]) -> int:
    """The collection form: the start line, :func:`radseg.segment_many.run_collection`, the summary."""
    from ..segment_many import run_collection, summary_line
    args, config = plan.args, plan.config
    if _rank() == 0:
        print(f"segmenting {len(plan.items)} image(s) into {len(plan.classes)} classes with "
              f"{config.model_version} on {plan.device} -> {plan.out_dir}/", file=sys.stderr)
    header = {"model_version": config.model_version, "weights": "random stand-in" if weights else "pretrained",
              "model_info": {k: v for k, v in predictor.info.items() if isinstance(v, (str, int, float, bool))},
              "radseg_config": predictor.config.to_dict(), "command": sys.argv}
    summary = run_collection(predictor, plan.items, plan.classes, plan.out_dir, overlay=args.overlay,
                             save_probs=args.save_probs, force=args.force, batch_size=args.batch_size,
                             num_workers=plan.workers, header=header, note=note, failed_before=plan.missing)
    if summary["rank"] != 0:
        return 1 if summary["failed"] else 0
    print(summary_line(summary))
    if summary["failed"]:
        names: List[str] = summary["failed"]
        print(f"error: {len(names)} image(s) could not be read and were skipped: " + ", ".join(names[:20])
              + (" ..." if len(names) > 20 else "") + f" (reasons in {summary['manifest']})", file=sys.stderr)
        return 1
    return 0


def run_segment(plan: SegmentPlan) -> int:
    """Load the model once, segment the plan's images, write their outputs; the exit status."""
    from ..results.honesty import weights_notice
    report_plan(plan)
    if getattr(plan.args, "method", "radseg") not in (None, "radseg"):
        from ..methods import get_method
        predictor = get_method(plan.args.method).build(plan.config, device=plan.device)
    else:
        predictor = build_predictor(plan.onnx_export, plan.config, plan.device)
    weights = weights_notice(predictor, note if _rank() == 0 else (lambda m: None))
    if plan.single:
        return _write_single(plan, predictor)
    return _run_collection(plan, predictor, weights)


def main(args) -> int:
    return run_segment(plan_segment(args))
