"""The ``radseg segment`` command's collection form and the random-weights notice.

:func:`run_segment_collection` checks everything cheap first (labels, settings, model
name, SAM checkpoint, the inputs, the output folder), loads the model once, then runs
:func:`radseg.segment_many.run_collection` and prints one summary line. Exit status 0, or
1 when some images could not be read (listed by name).
"""
from __future__ import annotations

import os
import sys
from typing import Callable, List, Optional


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr)


def weights_label(model_version: str, sam: Optional[str] = None, info: Optional[dict] = None) -> Optional[str]:
    """``"random stand-in"`` when the model (or its SAM) has random weights, else ``None``."""
    from .models.registry import random_parts
    return "random stand-in" if random_parts(model_version, sam, info) else None


def weights_notice(predictor, note: Callable[[str], None] = _note) -> Optional[str]:
    """Print one line when ``predictor`` runs random stand-in weights; returns the parts named."""
    from .models.registry import random_parts
    cfg = predictor.config
    parts = random_parts(cfg.model_version, cfg.sam_ckpt if cfg.sam_refine else None, predictor.info)
    if not parts:
        return None
    text = " and ".join(f"'{p}'" for p in parts)
    note(f"{text} {'has' if len(parts) == 1 else 'have'} random weights (a stand-in): the segmentations "
         f"are meaningless; they show that the toolkit runs. Use a real model, e.g. --model_version c-radio_v3-b.")
    return text


def default_workers() -> int:
    return max(0, min(2, (os.cpu_count() or 1) - 1))


def backend_config(args, classes):
    """``(onnx_export or None, RADSegConfig)`` for ``radseg segment``'s flags: with ``--backend
    onnxruntime`` the export folder is checked (its settings, and that it holds text embeddings for
    ``classes``) before anything runs; otherwise the flags' config."""
    from .cli_args import config_from_args
    from .errors import RADSegError
    if args.backend != "onnxruntime" and args.model_dir is None:
        return None, config_from_args(args)
    if args.backend != "onnxruntime":
        raise RADSegError("--model-dir is the export folder of --backend onnxruntime; add --backend onnxruntime.")
    if args.model_dir is None:
        raise RADSegError("--backend onnxruntime needs --model-dir DIR (a `radseg export onnx` folder).")
    from .core.text_embeddings import flatten_synonyms
    from .deploy.export import require_onnx
    from .deploy.ort_backend import OnnxExport, StoredTextEmbeddings
    require_onnx("--backend onnxruntime")
    onnx_export = OnnxExport.open(args.model_dir)
    base = onnx_export.config()
    if args.sam_refine is None:
        base = base.replace(sam_refine=False)  # RADSeg+ only with --sam-refine, as with torch
    config = config_from_args(args, base=base)
    onnx_export.check_config(config)
    StoredTextEmbeddings(onnx_export).check(flatten_synonyms(classes)[0])  # before anything runs
    return onnx_export, config


def build_segment_predictor(onnx_export, config, device):
    """The predictor for ``config``: ONNX Runtime sessions over an export folder, or torch."""
    from .deploy.run_settings import note_settings
    from .predictor import RADSegPredictor
    if onnx_export is not None:
        from .deploy.onnx_predictor import load_onnx_predictor
        predictor = load_onnx_predictor(str(onnx_export.folder), device, config=config)
    else:
        predictor = RADSegPredictor.from_config(config, device=device)
    note_settings(predictor.config, onnx_export)
    return predictor


def run_segment_collection(args) -> int:

    from .class_names import split_labels
    from .errors import ClassNamesError
    from .models.radio import check_pinned, resolve_model_source
    from .segment_many import DEFAULT_OUT, check_flags, check_out_dir, collect_inputs, run_collection, summary_line
    classes = split_labels(args.labels)
    if len(classes) > 256:
        raise ClassNamesError(f"--labels names {len(classes)} classes; the label-map PNG holds at most 256.")
    workers = default_workers() if args.num_workers is None else args.num_workers
    check_flags(args.batch_size, workers)
    onnx_export, config = backend_config(args, classes)
    device = _rank_device(args.device)
    if onnx_export is None:
        resolve_model_source(config.model_version)
    check_pinned(config.radio_source, config.radio_revision, config.allow_unpinned)
    if config.sam_refine and onnx_export is None:
        from .models.sam import resolve_sam
        config = config.replace(sam_ckpt=resolve_sam(config.sam_ckpt, model_version=config.model_version))
    items, ignored = collect_inputs(args.image or [], args.recursive, args.list_file)
    out_dir = check_out_dir(args.out or DEFAULT_OUT)
    rank = int(os.environ.get("RANK", 0) or 0)
    if ignored and rank == 0:
        shown = ", ".join(ignored[:5]) + (f", ... (+{len(ignored) - 5} more)" if len(ignored) > 5 else "")
        _note(f"{len(ignored)} file(s) without an image suffix not read: {shown}")
    predictor = build_segment_predictor(onnx_export, config, device)
    weights = weights_notice(predictor, _note if rank == 0 else (lambda m: None))
    if rank == 0:
        print(f"segmenting {len(items)} image(s) into {len(classes)} classes with {config.model_version} on "
              f"{device} -> {out_dir}/", file=sys.stderr)
    header = {"model_version": config.model_version, "weights": "random stand-in" if weights else "pretrained",
              "model_info": {k: v for k, v in predictor.info.items() if isinstance(v, (str, int, float, bool))},
              "radseg_config": predictor.config.to_dict(), "command": sys.argv}
    summary = run_collection(predictor, items, classes, out_dir, overlay=args.overlay, save_probs=args.save_probs,
                             force=args.force, batch_size=args.batch_size, num_workers=workers, header=header,
                             note=_note)
    if summary["rank"] != 0:
        return 1 if summary["failed"] else 0
    print(summary_line(summary))
    if summary["failed"]:
        names: List[str] = summary["failed"]
        print(f"error: {len(names)} image(s) could not be read and were skipped: " + ", ".join(names[:20])
              + (" ..." if len(names) > 20 else "") + f" (reasons in {summary['manifest']})", file=sys.stderr)
        return 1
    return 0


def _rank_device(name: Optional[str]):
    """``--device`` as given, else under torchrun with GPUs: ``cuda:<LOCAL_RANK>``."""
    import torch

    from .predictor import resolve_device
    if name is None and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return resolve_device(f"cuda:{int(os.environ['LOCAL_RANK'])}")
    return resolve_device(name)
