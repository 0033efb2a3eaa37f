"""Evaluate RADSeg on one benchmark config with mmengine's test loop.

:func:`run_evaluation` is what ``eval.py`` calls, in three steps: :func:`plan_evaluation`
applies the command-line settings to the config and checks everything (config, settings,
data folder, labels, class-name file, model name, SAM) so mistakes fail in seconds with no
model loaded; :func:`run_plan` builds the method's predictor, the segmentor over it and
mmengine's runner over that instance, and runs the test loop with mmseg's IoU metric;
:func:`record_evaluation` builds the result record in one call
(:func:`radseg.results.provenance.build_record`) and writes it (:mod:`radseg.results.records`).
The distributed set-up is :mod:`.distributed`.
"""
from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

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
from .eval_method import MethodChoice, apply_method
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
    if cfg.model.get("type") != "RADSegSegmentation" or cfg.model.get("method", "radseg") != "radseg":
        return  # a baseline's settings were checked by its settings dataclass (eval_method.apply_method)
    known = set(RADSegConfig.field_names()) | {"class_names", "num_classes", "data_preprocessor", "init_cfg",
                                               "method"}
    unknown = sorted(set(cfg.model) - known - {"type"})
    if unknown:
        raise ConfigError(f"unknown model setting(s) {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")


def validate_settings(cfg) -> None:
    """Check ``cfg.model``'s RADSeg settings with :meth:`radseg.config.RADSegConfig.validate`
    (numbers, ranges, slide crop/stride, ...) before anything loads: one ConfigError line."""
    if cfg.model.get("type") != "RADSegSegmentation" or cfg.model.get("method", "radseg") != "radseg":
        return
    values = {k: v for k, v in cfg.model.items() if k not in ("type", "method")}
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


# -- plan -> run -> record ----------------------------------------------------------------------

@dataclass
class EvalPlan:
    """Everything eval.py checked before any model loads (:func:`plan_evaluation`).

    ``cfg``: the mmengine config with the flags applied; ``name``/``res``: the run's dataset name
    and preset (``None`` outside a preset folder); ``n_found``: images found; ``own_layout``: the
    ``--dataset-dir`` layout (else ``None``); ``label_ignore``/``boundary``: their record entries."""
    args: argparse.Namespace
    cfg: Any
    name: str
    res: Optional[str]
    data_root: str
    data_from: str
    num_classes: int
    n_found: int
    pred_dir: Optional[Path]
    boundary: Optional[dict]
    label_ignore: Optional[dict]
    own_layout: Optional[dict]
    choice: MethodChoice = MethodChoice("radseg", "radseg")

    @property
    def benchmark(self) -> Optional[str]:
        return self.cfg.get("benchmark")


@dataclass
class EvalRun:
    """What :func:`run_plan` measured: the predictor, the runner, its metrics, ``(start, runner
    built, test done)`` times, and the images scored."""
    predictor: Any
    runner: Any
    metrics: Dict[str, Any]
    times: Tuple[float, float, float]
    n_images: int


def _load_plan_config(args):
    """``(cfg, own layout or None)``: the config file, or the one ``--dataset-dir`` writes."""
    from . import custom_dataset as own  # eval.py --dataset-dir DIR --classes FILE
    own.check_args(args)
    if args.dataset_dir:
        cfg, own_layout, _ = own.load_own_config(args)
        return cfg, own_layout
    return load_config(args), None  # imports radseg.mmseg through custom_imports


def _check_data(cfg, args, own_layout) -> Tuple[str, str, int, int]:
    """``(data root, where it came from, classes, images found)``, the class file checked too."""
    if own_layout is not None:
        from . import custom_dataset as own
        n_found = own.check_dataset(own_layout, cfg.model.num_classes, bool(args.reduce_zero_label))
        data_root, data_from, num_classes = str(own_layout["root"]), "--dataset-dir", cfg.model.num_classes
    else:
        data_root, data_from = resolve_data_root(cfg, args)
        num_classes, n_found = check_dataset(cfg)
    load_class_names(cfg.model.class_names, num_classes, dataset=cfg.get("benchmark"))
    cfg.model.num_classes = num_classes
    return data_root, data_from, num_classes, n_found


def _make_work_dir(cfg, args, name: str, res: Optional[str]) -> None:
    cfg.work_dir = args.work_dir or str(Path("work_logs") / (f"{res}_{name}" if res else name))
    try:
        Path(cfg.work_dir).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--work-dir '{cfg.work_dir}' is a file (or lies under one); give a folder.") from None
    except OSError as e:
        raise ConfigError(f"cannot create --work-dir '{cfg.work_dir}': {e.strerror}.") from None


def _configure_outputs(cfg, args, name: str, num_classes: int):
    """``(predictions folder or None, Boundary IoU entry or None)``; the hooks and launcher set."""
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
    return pred_dir, boundary


def plan_evaluation(args) -> EvalPlan:
    """Load the config, apply the flags, check everything (settings, model name, pin, data,
    labels, class file, SAM, work and prediction folders); loads no model."""
    from ..commands.preflight import checked_sam
    from ..models.registry import load_plugins
    load_plugins(args.plugin)
    cfg, own_layout = _load_plan_config(args)
    for line in apply_cli(cfg, args):
        print(line, file=sys.stderr)
    name = Path(args.config).stem if own_layout is None else cfg.own_dataset["name"]
    res = resolution_of(args.config) if own_layout is None else cfg.own_dataset["preset"]
    choice = apply_method(cfg, args, cfg.get("benchmark") or name, res)  # a baseline's settings
    if choice.protocol == "own":
        res = "own"  # the record's resolution and the run's folder name: the release's own settings
    check_model_keys(cfg)
    label_ignore = apply_label_ignore(cfg, getattr(args, "label_ignore", None))
    validate_settings(cfg)  # numbers and ranges of every RADSeg setting, before anything loads
    if args.save_probs and not args.save_predictions:
        raise ConfigError("--save-probs needs --save-predictions DIR (the probabilities go next to the "
                          "label PNGs).")
    if choice.is_radseg:
        resolve_model_source(cfg.model.model_version)  # an unknown name fails before any data loading
    data_root, data_from, num_classes, n_found = _check_data(cfg, args, own_layout)
    if choice.is_radseg and cfg.model.get("sam_refine"):  # a missing SAM checkpoint fails before RADIO loads
        cfg.model.sam_ckpt = checked_sam(cfg.model.get("sam_ckpt"), cfg.model.model_version)
    _make_work_dir(cfg, args, name, res)
    pred_dir, boundary = _configure_outputs(cfg, args, name, num_classes)
    return EvalPlan(args, cfg, name, res, data_root, data_from, num_classes, n_found, pred_dir, boundary,
                    label_ignore, own_layout, choice)


def _announce(plan: EvalPlan) -> None:
    """The ``data:`` line (rank 0): folder, dataset, images (a subset says so), where it came from."""
    from ..results.honesty import subset_text
    if launcher_rank() not in (None, "0"):
        return
    subset = subset_text(plan.benchmark, plan.n_found)  # "6 of 1449 images": never a full-benchmark number
    li = plan.label_ignore
    print(f"data: {plan.data_root} ({plan.benchmark or plan.name}, {subset or f'{plan.n_found} images'}; "
          f"data folder {plan.data_from})"
          + (f"; predictions -> {plan.pred_dir}" if plan.pred_dir is not None else "")
          + (f"; label ignore {li['setting']} (metric ignore_index {li['metric_ignore_index']})" if li else ""),
          flush=True)


def _build_predictor(plan: EvalPlan):
    """The method's predictor on the CPU (the runner moves it), with the pipeline's resize in its
    settings so the record names the size the images were resized to."""
    from ..methods import get_method
    from .segmentor import method_settings_of, segmentor_config
    cfg = plan.cfg
    method = cfg.model.get("method", "radseg")
    resize = pipeline_resize_scale(cfg)
    if resize is not None and "scale" in get_method(method).settings_cls.field_names():
        cfg.model.scale = resize
    settings = segmentor_config(cfg.model.class_names, method_settings_of(cfg.model), method)
    return get_method(method).build(settings, device="cpu")


def run_plan(plan: EvalPlan) -> EvalRun:
    """Load the weights (an unreachable checkpoint fails here with one line, before mmengine's
    environment dump), build the segmentor and the runner over it, run the test loop."""
    import warnings  # mmseg's notes about settings the configs choose on purpose: noise on stderr

    from ..results.honesty import weights_notice
    from .runner import build_runner
    from .segmentor import build_segmentor
    from .terminal import ProgressBar, mmengine_log_to_file_only
    _announce(plan)
    cfg, t0 = plan.cfg, time.time()
    predictor = _build_predictor(plan)
    weights_notice(predictor, (lambda m: print(f"note: {m}", flush=True))  # next to the data line
                   if launcher_rank() in (None, "0") else (lambda m: None))
    warnings.filterwarnings("ignore", message="The draw is False")
    warnings.filterwarnings("ignore", message=r".*instance named of visualizer has been created")
    verbose = getattr(plan.args, "verbose", False)
    with mmengine_log_to_file_only(not verbose):
        if not cfg.get("experiment_name"):
            # mmengine names the run's logger '<config>_<timestamp>' (seconds): a second run in this
            # process within the same second would get the first run's logger and its handlers
            cfg.experiment_name = f"{plan.name}_{os.getpid()}_{next(_RUN_COUNT)}"
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope(cfg.get("default_scope", "mmseg")):
            segmentor = build_segmentor(cfg.model, predictor)
        runner = build_runner(cfg, segmentor)
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
    return EvalRun(predictor, runner, metrics, (t0, t_built, time.time()), len(runner.test_dataloader.dataset))


def _check_scored(plan: EvalPlan, run: EvalRun, summary: Dict[str, float]) -> None:
    """No label pixel scored is an error, never a complete record."""
    bad = nonfinite_metrics(summary)
    if bad:
        ignored = (" or 0 (background, ignored by this benchmark)"
                   if getattr(run.runner.test_dataloader.dataset, "reduce_zero_label", False) else "")
        raise DatasetError(
            f"no label pixel was scored in the {run.n_images} images of {plan.data_root} "
            f"({', '.join(f'{k}={v}' for k, v in bad.items())}): every label value is 255 (ignore){ignored}. "
            f"Check the labels with `radseg data verify {plan.benchmark or 'DATASET'}`; no result "
            f"record written.")


def record_evaluation(plan: EvalPlan, run: EvalRun) -> Dict[str, Any]:
    """Check the metrics, build the record in one call (:func:`radseg.results.provenance.build_record`),
    write it (rank 0) and print the result line; returns the record."""
    import mmcv
    import mmengine
    import mmseg
    from mmengine.dist import get_rank

    from ..results.honesty import random_weight_parts
    from .compat import using_shim
    cfg, args = plan.cfg, plan.args
    summary = summarize_metrics(run.metrics)
    _check_scored(plan, run, summary)
    model = run.runner.model.module if hasattr(run.runner.model, "module") else run.runner.model
    settings = getattr(run.predictor, "config", None) or run.predictor.settings
    record = build_record(
        model=cfg.model, settings=cfg.to_dict(), benchmark=cfg.get("benchmark", plan.name),
        config=args.config or f"--dataset-dir {plan.data_root}",
        model_info=model.model_info if hasattr(model, "model_info") else {},
        allow_unpinned=getattr(args, "allow_unpinned", False), cfg_options=args.cfg_options,
        data_root=plan.data_root, predictions_dir=plan.pred_dir, metrics=run.metrics, boundary_iou=plan.boundary,
        classes=run.runner.test_dataloader.dataset.metainfo["classes"], num_images=run.n_images,
        times=run.times, radseg_config=settings.to_dict() if plan.choice.is_radseg else None,
        method_settings=settings.to_dict(),
        settings_hash=None if plan.choice.is_radseg else settings.config_hash(),
        framework_versions=versions((mmseg, mmengine, mmcv),
                                    {"mmcv_ops": "radseg shim (mmcv-lite)" if using_shim() else "compiled"}),
        random_weights=random_weight_parts(run.predictor), dataset_key=cfg.get("benchmark"),
        label_ignore=plan.label_ignore, method=plan.choice.method, protocol=plan.choice.protocol,
        resolution="own" if plan.choice.protocol == "own" else None,
        own_dataset=(dict(cfg.own_dataset), plan.res) if plan.own_layout is not None else None)
    if get_rank() == 0:
        stamp = time.strftime("%Y%m%d_%H%M%S")
        kept = write_run_record(cfg.work_dir, record, stamp, f"{plan.res + '_' if plan.res else ''}{plan.name}")
        print(f"mIoU {summary.get('mIoU')}%  aAcc {summary.get('aAcc')}%  mAcc {summary.get('mAcc')}%"
              + (f"  mBoundaryIoU {summary.get('mBoundaryIoU')}%" if plan.boundary else "") + f"  -> {kept}"
              + ("" if getattr(args, "verbose", False) else
                 f"\nlog (mmengine, per-class table): {Path(run.runner.log_dir) / (run.runner.timestamp + '.log')}"))
    return record


def run_evaluation(args) -> Dict[str, Any]:
    """Evaluate per ``args`` (from :func:`build_parser`): plan -> run -> record. Returns the record."""
    plan = plan_evaluation(args)
    return record_evaluation(plan, run_plan(plan))
