"""Evaluate RADSeg on one benchmark config with mmengine's test loop.

:func:`run_evaluation` is what ``eval.py`` calls: it applies the command-line
settings to the config, checks the cheap things first (config, data folder,
class-name file, model name) so mistakes fail in seconds, runs the runner's
test loop with mmseg's IoU metric and writes the result record (built by
:func:`radseg.results.provenance.build_record`, written by
:mod:`radseg.results.records`). The distributed set-up is :mod:`.distributed`.
"""
from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ..cfg_options import check_cfg_options
from ..class_names import load_class_names
from ..config import RADSegConfig
from ..dataset_registry import DATASET_REGISTRY as PRESET_DATASETS
from ..errors import ConfigError, DatasetError
from ..eval_args import build_parser, resolve_config_path  # noqa: F401  (build_parser re-exported: its old home)
from ..models.radio import resolve_model_source
from ..models.registry import ALIASES
from ..results.provenance import build_record, resolution_of, summarize_metrics, versions
from ..results.records import nonfinite_metrics, write_run_record
from .distributed import configure_launcher, launcher_rank
from .eval_settings import apply_label_ignore, check_predictions_dir, configure_boundary_iou, pipeline_resize_scale

logger = logging.getLogger(__name__)
_RUN_COUNT = itertools.count()  # runs of this process (mmengine's experiment names)


# -- config ---------------------------------------------------------------------------------

def load_config(args):
    from mmengine.config import Config, DictAction
    path = resolve_config_path(args)
    try:
        cfg = Config.fromfile(str(path))
    except Exception as e:  # syntax errors, bad _base_ paths
        raise ConfigError(f"cannot read config '{args.config}': {type(e).__name__}: {e}") from None
    if args.cfg_options:
        for kv in args.cfg_options:
            if "=" not in kv:
                raise ConfigError(f"--cfg-options entry '{kv}' is not KEY=VALUE.")
        ns = argparse.Namespace()
        DictAction(option_strings=[], dest="opts")(None, ns, args.cfg_options)  # mmengine's parsing
        check_cfg_options(args.cfg_options, cfg.keys(),  # a key nothing reads is an error, not a no-op
                          radseg_model=(cfg.get("model") or {}).get("type") == "RADSegSegmentation")
        cfg.merge_from_dict(ns.opts)
    missing = [k for k in ("model", "test_dataloader") if not isinstance(cfg.get(k), dict)]
    if missing:
        raise ConfigError(f"'{args.config}' is not an evaluation config (it defines no {' or '.join(missing)}). "
                          f"Pick one of configs_mmseg/{{low_res,mid_res,high_res}}/<dataset>.py.")
    bs = cfg.test_dataloader.get("batch_size", 1)
    if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
        raise ConfigError(f"test_dataloader.batch_size must be a whole number >= 1 (got {bs!r}).")
    return cfg


def apply_cli(cfg, args) -> List[str]:
    """Copy command-line settings into ``cfg.model``; returns notices to print."""
    notes = []
    m = cfg.model
    if args.model_version is not None:
        m.model_version = args.model_version
    if m.get("model_version") in ALIASES:
        notes.append(f"note: --model_version '{m.model_version}' is not a RADIO version name; "
                     f"using '{ALIASES[m.model_version]}'.")
        m.model_version = ALIASES[m.model_version]
    for key in ("lang_model", "scra_scaling", "scga_scaling", "sam_refine", "sam_ckpt",
                "radio_source", "radio_revision", "radio_repo", "amp", "compile", "fast"):
        val = getattr(args, key)
        if val is not None:
            m[key] = val
    if args.num_workers is not None:
        if args.num_workers < 0:
            raise ConfigError("--num-workers must be >= 0")
        cfg.test_dataloader.num_workers = args.num_workers
    else:  # the config's 4, but not more than this machine's cores
        cfg.test_dataloader.num_workers = min(cfg.test_dataloader.get("num_workers", 0), os.cpu_count() or 1)
    if cfg.test_dataloader.get("num_workers", 0) == 0:
        cfg.test_dataloader.persistent_workers = False
    return notes


def check_model_keys(cfg) -> None:
    """Unknown ``model.*`` keys (typos in configs or --cfg-options) fail with the known ones."""
    if cfg.model.get("type") != "RADSegSegmentation":
        return
    known = set(RADSegConfig.field_names()) | {"class_names", "num_classes", "data_preprocessor", "init_cfg"}
    unknown = sorted(set(cfg.model) - known - {"type"})
    if unknown:
        raise ConfigError(f"unknown model setting(s) {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")


def validate_settings(cfg) -> None:
    """Check ``cfg.model``'s RADSeg settings with :meth:`radseg.config.RADSegConfig.validate`
    (numbers, ranges, slide crop/stride, ...) before anything loads: one ConfigError line."""
    if cfg.model.get("type") != "RADSegSegmentation":
        return
    values = {k: v for k, v in cfg.model.items() if k != "type"}
    RADSegConfig.from_dict(values, ignore_unknown=True).validate()


def resolve_data_root(cfg, args) -> Tuple[str, str]:
    """Set ``test_dataloader.dataset.data_root`` by the one data-folder rule; returns
    ``(dataset folder, "<data folder> (from <source>)")``.

    The data folder is :func:`radseg.data.benchmarks.resolve_data_dir`: ``--data-root``, else
    ``$RADSEG_DATA_DIR``, else ``./data``. In it, the first existing of the benchmark's folder
    names (:mod:`radseg.presets` ``data_dirnames``, or the config's); the data folder may also
    be the benchmark folder itself. A config for another dataset with an absolute
    ``data_root`` is used as written when neither ``--data-root`` nor ``$RADSEG_DATA_DIR`` is set.
    """
    from ..data.benchmarks import DEFAULT_DATA_DIR, require_data_dir, resolve_data_dir
    ds = cfg.test_dataloader.dataset
    bench = cfg.get("benchmark")
    dirnames = list(cfg.get("data_dirnames") or
                    (PRESET_DATASETS[bench].data_dirnames if bench in PRESET_DATASETS else []))
    current = str(ds.get("data_root", "") or "")
    img_prefix = (ds.get("data_prefix") or {}).get("img_path", "")
    data_dir = resolve_data_dir(args.data_root)
    if not dirnames:  # a config for another dataset
        if os.path.isabs(current) and data_dir.is_default:
            if not Path(current).is_dir():
                raise DatasetError(f"data_root '{current}' of config '{args.config}' is not a folder: fix it "
                                   f"in the config, or pass --data-root DIR.")
            return current, f"{current} (from the config)"
        parts = Path(current).parts
        rel = Path(*parts[1:]) if parts and parts[0] == DEFAULT_DATA_DIR else Path(current)
        dirnames = [str(rel)] if str(rel) not in ("", ".") and not rel.is_absolute() else []
    base = require_data_dir(data_dir)
    tried = [base / d for d in dirnames]
    for cand in tried:
        if cand.is_dir():
            ds.data_root = str(cand)
            return ds.data_root, data_dir.describe()
    if (base / img_prefix).is_dir() if img_prefix else not dirnames:  # the benchmark folder itself
        ds.data_root = str(base)
        return ds.data_root, data_dir.describe()
    what = bench or "dataset"
    how = f"`radseg data prepare {bench or 'DATASET'} --raw DOWNLOAD` (docs/DATA.md)"
    from ..data.mess import MESS_ENTRIES, how_to_get
    if bench in MESS_ENTRIES:
        how = f"MESS's scripts (docs/MESS.md): {how_to_get(MESS_ENTRIES[bench])}"
    raise DatasetError(
        f"no {what} folder in data folder {data_dir.describe()}: tried "
        f"{', '.join(str(t) for t in tried) or str(base)}. Prepare it with {how}, or point --data-root "
        f"at the folder that holds it.")


def check_dataset(cfg) -> Tuple[int, int]:
    """Cheap checks before loading any model (:func:`radseg.data.verify.verify_dataset` with
    ``quick=True`` for the benchmarks). Returns ``(number of classes, number of images)``."""
    from mmseg.registry import DATASETS
    ds = cfg.test_dataloader.dataset
    cls = DATASETS.get(ds.type)
    if cls is None:
        raise ConfigError(f"unknown dataset type '{ds.type}' in the config.")
    classes = (ds.get("metainfo") or {}).get("classes") or cls.METAINFO.get("classes")
    if not classes and ds.get("benchmark") in PRESET_DATASETS:  # BenchmarkTableDataset: the table's
        classes = range(PRESET_DATASETS[ds.benchmark].num_classes)
    from .mess import MESSDataset, entry_classes
    if issubclass(cls, MESSDataset) and "metainfo" not in ds:  # the entry's built-in class file
        classes = entry_classes(ds.get("entry"))
    bench = cfg.get("benchmark")
    from ..data.benchmarks import BENCHMARKS
    if bench in BENCHMARKS:
        from ..data.verify import check_dataset as verify_quick
        rep = verify_quick(bench, ds.data_root, quick=True)  # same one-line message as `radseg data verify`
        return len(classes), rep.n_images
    # a user's own dataset config: only the image folder is checked here
    img_dir = Path(ds.data_root) / (ds.get("data_prefix") or {}).get("img_path", "")
    n = sum(1 for p in img_dir.rglob("*") if p.is_file()) if img_dir.is_dir() else 0
    if not n:
        raise DatasetError(f"image folder '{img_dir}' is missing or empty. Check --data-root.")
    return len(classes), n


# -- run --------------------------------------------------------------------------------------------

def run_evaluation(args) -> Dict[str, Any]:
    """Evaluate per ``args`` (from :func:`build_parser`). Returns the result record."""
    from ..models.registry import load_plugins
    load_plugins(args.plugin)
    from . import custom_dataset as own  # eval.py --dataset-dir DIR --classes FILE
    own.check_args(args)
    own_layout = None
    if args.dataset_dir:
        cfg, own_layout, _ = own.load_own_config(args)
    else:
        cfg = load_config(args)  # imports radseg.mmseg through custom_imports
    for note in apply_cli(cfg, args):
        print(note, file=sys.stderr)
    check_model_keys(cfg)
    label_ignore = apply_label_ignore(cfg, getattr(args, "label_ignore", None))
    validate_settings(cfg)  # numbers and ranges of every RADSeg setting, before anything loads
    if args.save_probs and not args.save_predictions:
        raise ConfigError("--save-probs needs --save-predictions DIR (the probabilities go next to the "
                          "label PNGs).")
    resolve_model_source(cfg.model.model_version)  # an unknown name fails before any data loading
    if own_layout is not None:
        data_root, data_from = str(own_layout["root"]), "--dataset-dir"
        num_classes = cfg.model.num_classes
        n_found = own.check_dataset(own_layout, num_classes, bool(args.reduce_zero_label))
    else:
        data_root, data_from = resolve_data_root(cfg, args)
        num_classes, n_found = check_dataset(cfg)
    load_class_names(cfg.model.class_names, num_classes, dataset=cfg.get("benchmark"))
    cfg.model.num_classes = num_classes
    if cfg.model.get("sam_refine"):  # a missing or corrupt SAM checkpoint fails before RADIO is loaded
        from ..models.sam import resolve_sam
        cfg.model.sam_ckpt = resolve_sam(cfg.model.get("sam_ckpt"), model_version=cfg.model.model_version)

    name = Path(args.config).stem if own_layout is None else cfg.own_dataset["name"]
    res = resolution_of(args.config) if own_layout is None else cfg.own_dataset["preset"]
    cfg.work_dir = args.work_dir or str(Path("work_logs") / (f"{res}_{name}" if res else name))
    try:
        Path(cfg.work_dir).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--work-dir '{cfg.work_dir}' is a file (or lies under one); give a folder.") from None
    except OSError as e:
        raise ConfigError(f"cannot create --work-dir '{cfg.work_dir}': {e.strerror}.") from None
    if args.save_predictions is not None and num_classes > 255:
        raise ConfigError(f"--save-predictions writes 8-bit label PNGs (255 = ignore): at most 255 classes, "
                          f"this dataset has {num_classes}.")
    pred_dir = check_predictions_dir(args)
    boundary = configure_boundary_iou(cfg, getattr(args, "boundary_iou", None))
    if pred_dir is not None:
        from .predictions import hook_config
        cfg.custom_hooks = list(cfg.get("custom_hooks") or []) + [
            hook_config(pred_dir, save_probs=args.save_probs, dataset=cfg.get("benchmark") or name)]
    configure_launcher(cfg, args.launcher)
    from ..results.honesty import subset_text
    subset = subset_text(cfg.get("benchmark"), n_found)  # "6 of 1449 images": never a full-benchmark number
    if launcher_rank() in (None, "0"):
        print(f"data: {data_root} ({cfg.get('benchmark') or name}, {subset or f'{n_found} images'}; "
              f"data folder {data_from})"
              + (f"; predictions -> {pred_dir}" if pred_dir is not None else "")
              + (f"; label ignore {label_ignore['setting']} (metric ignore_index {label_ignore['metric_ignore_index']})"
                 if label_ignore else ""), flush=True)

    # Load the weights before the runner: an unreachable checkpoint fails here with one
    # line, not after mmengine's environment dump; the segmentor then takes this predictor.
    from ..predictor import RADSegPredictor
    from .segmentor import prebuilt_predictor, segmentor_config
    t0 = time.time()
    resize = pipeline_resize_scale(cfg)
    if resize is not None:  # the record's radseg_config says the size the images were resized to
        cfg.model.scale = resize
    settings = {k: v for k, v in cfg.model.items() if k not in ("type", "class_names", "num_classes",
                                                                 "data_preprocessor", "init_cfg")}
    predictor = RADSegPredictor.from_config(segmentor_config(cfg.model.class_names, settings), device="cpu")
    from ..segment_cli import weights_notice
    random_weights = weights_notice(predictor, (lambda m: print(f"note: {m}", flush=True))  # next to the data line
                                    if launcher_rank() in (None, "0") else (lambda m: None))

    import warnings  # mmseg's notes about settings the configs choose on purpose: noise on stderr

    warnings.filterwarnings("ignore", message="The draw is False")
    warnings.filterwarnings("ignore", message=r".*instance named of visualizer has been created")
    from mmengine.runner import Runner

    from .terminal import ProgressBar, mmengine_log_to_file_only
    verbose = getattr(args, "verbose", False)
    with prebuilt_predictor(predictor), mmengine_log_to_file_only(not verbose):
        if not cfg.get("experiment_name"):
            # mmengine names the run's logger '<config>_<timestamp>' (seconds): a second run in this
            # process within the same second would get the first run's logger and its handlers
            cfg.experiment_name = f"{name}_{os.getpid()}_{next(_RUN_COUNT)}"
        runner = Runner.from_cfg(cfg)
    bar = ProgressBar()
    if not verbose and launcher_rank() in (None, "0"):
        runner.register_hook(bar)
    t_built = time.time()
    with warnings.catch_warnings():  # a class without pixels (or no pixel at all: checked below)
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)
        try:
            metrics = runner.test()
        finally:
            bar.close()
    t_done = time.time()

    from mmengine.dist import get_rank
    n_images = len(runner.test_dataloader.dataset)
    model = runner.model.module if hasattr(runner.model, "module") else runner.model
    info = model.model_info if hasattr(model, "model_info") else {}
    summary = summarize_metrics(metrics)
    bad = nonfinite_metrics(summary)
    if bad:  # nothing was scored: an error, never a complete record
        ignored = (" or 0 (background, ignored by this benchmark)"
                   if getattr(runner.test_dataloader.dataset, "reduce_zero_label", False) else "")
        raise DatasetError(
            f"no label pixel was scored in the {n_images} images of {data_root} "
            f"({', '.join(f'{k}={v}' for k, v in bad.items())}): every label value is 255 (ignore){ignored}. "
            f"Check the labels with `radseg data verify {cfg.get('benchmark') or 'DATASET'}`; no result "
            f"record written.")
    import mmcv
    import mmengine
    import mmseg

    from .compat import using_shim
    record = build_record(
        model=cfg.model, settings=cfg.to_dict(), benchmark=cfg.get("benchmark", name),
        config=args.config or f"--dataset-dir {data_root}",
        model_info=info, allow_unpinned=getattr(args, "allow_unpinned", False), cfg_options=args.cfg_options,
        data_root=data_root, predictions_dir=pred_dir, metrics=metrics, boundary_iou=boundary,
        classes=runner.test_dataloader.dataset.metainfo["classes"], num_images=n_images,
        times=(t0, t_built, t_done), radseg_config=predictor.config.to_dict(),
        framework_versions=versions((mmseg, mmengine, mmcv),
                                    {"mmcv_ops": "radseg shim (mmcv-lite)" if using_shim() else "compiled"}))
    if label_ignore is not None:  # ADE-847 / PC-459: which ignore value scored these numbers
        record["label_ignore"] = label_ignore
    from ..models.registry import random_parts
    from ..results.honesty import PRETRAINED, RANDOM_WEIGHTS, official_count
    record["weights"] = RANDOM_WEIGHTS if random_weights else PRETRAINED
    record["random_weights"] = random_parts(predictor.config.model_version, predictor.config.sam_ckpt
                                            if predictor.config.sam_refine else None, predictor.info)
    record["official_num_images"] = official_count(cfg.get("benchmark"))
    record["subset"] = subset_text(cfg.get("benchmark"), n_images)
    if own_layout is not None:  # your own dataset: no official count, never a subset
        record["resolution"] = res
        record["own_dataset"] = dict(cfg.own_dataset)
    if get_rank() == 0:
        stamp = time.strftime("%Y%m%d_%H%M%S")
        kept = write_run_record(cfg.work_dir, record, stamp, f"{res + '_' if res else ''}{name}")
        print(f"mIoU {summary.get('mIoU')}%  aAcc {summary.get('aAcc')}%  mAcc {summary.get('mAcc')}%"
              + (f"  mBoundaryIoU {summary.get('mBoundaryIoU')}%" if boundary else "") + f"  -> {kept}"
              + ("" if verbose else f"\nlog (mmengine, per-class table): "
                                    f"{Path(runner.log_dir) / (runner.timestamp + '.log')}"))
    return record
