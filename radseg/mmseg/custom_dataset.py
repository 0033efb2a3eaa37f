"""``eval.py --dataset-dir DIR --classes classes.txt``: evaluate a labelled dataset of one's own.

Layout: ``DIR/images/`` and ``DIR/labels/`` (or ``--img-dir`` / ``--ann-dir``, relative to
DIR or absolute), sub-folders allowed, an image and its label paired by relative path and
name (``images/a/x.jpg`` <-> ``labels/a/x.png``). Labels are single-channel 8-bit PNGs (mode
``L`` or ``P``, the image's size) with values ``0..K-1`` in the class file's order and 255
ignored; with ``--reduce-zero-label`` the values are ``0..K`` and 0 (background) is ignored,
``v`` meaning class ``v - 1`` (mmseg's ``reduce_zero_label``). The test pipeline is the
benchmarks' (mmseg ``Resize`` keep-ratio, the same segmentor and metric); scale and windows
come from ``--preset {low_res,mid_res,high_res}`` of ``--preset-of BENCHMARK`` (default
``coco_stuff164k``, whose mid_res preset is :class:`radseg.RADSegConfig`'s defaults), and
``--scale LONG SHORT``, ``--slide-crop``, ``--slide-stride`` override them.

:func:`build_config` makes the mmengine config (no config file to write) and
:func:`check_dataset` checks, before any model loads: the folders, the class file, one
image suffix, every image paired with a label, every header (mode, size) and every
label's values against K.
"""
from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import ConfigError, DatasetError
from ..eval_args import DEFAULT_ANN_DIR, DEFAULT_IMG_DIR, DEFAULT_PRESET_OF

LABEL_SUFFIX = ".png"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
FLAGS = ("--preset", "--preset-of", "--scale", "--slide-crop", "--slide-stride", "--img-dir", "--ann-dir",
         "--reduce-zero-label", "--classes")


def given_flags(args) -> List[str]:
    """The own-dataset flags given (for "needs --dataset-dir" errors)."""
    names = {"--preset": "preset", "--preset-of": "preset_of", "--scale": "scale", "--slide-crop": "slide_crop",
             "--slide-stride": "slide_stride", "--img-dir": "img_dir", "--ann-dir": "ann_dir",
             "--reduce-zero-label": "reduce_zero_label", "--classes": "classes"}
    return [f for f, k in names.items() if getattr(args, k, None) not in (None, False)]


def check_args(args) -> None:
    """``--dataset-dir`` and ``--config`` exclude each other; the own-dataset flags need it."""
    if getattr(args, "dataset_dir", None) is None:
        extra = given_flags(args)
        if extra:
            raise ConfigError(f"{', '.join(extra)} need --dataset-dir DIR (a benchmark --config sets its own; "
                              f"use --cfg-options to change it).")
        return
    if args.data_root:
        raise ConfigError("--data-root is for benchmark configs; with --dataset-dir the folder is DIR itself.")
    if not args.classes:
        raise ConfigError("--dataset-dir needs --classes FILE: the class names, one per line, in the order of "
                          "the label values (0 = the first line).")


def _folder(root: Path, value: Optional[str], default: str, flag: str) -> Path:
    p = Path(os.path.expanduser(value)) if value else Path(default)
    p = p if p.is_absolute() else root / p
    if not p.is_dir():
        what = "is a file" if p.exists() else "does not exist"
        raise DatasetError(f"{'image' if 'img' in flag else 'label'} folder '{p}' {what}: put the "
                           f"{'images' if 'img' in flag else 'label PNGs'} in DIR/{default}/ or pass {flag} PATH "
                           f"(see `radseg data example DIR` for the layout).")
    return p


def _walk(top: Path, suffixes) -> List[str]:
    out = []
    for d, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            if f.lower().endswith(suffixes) and not f.startswith("."):
                out.append(os.path.relpath(os.path.join(d, f), top).replace(os.sep, "/"))
    return out


def dataset_layout(args) -> Dict[str, object]:
    """Folders, image suffix and pairs ``(stem, image, label)``; raises one :class:`DatasetError`."""
    root = Path(os.path.abspath(os.path.expanduser(args.dataset_dir)))
    if not root.is_dir():
        what = "is a file" if root.exists() else "does not exist"
        raise DatasetError(f"--dataset-dir '{args.dataset_dir}' {what}; give the folder holding images/ and labels/.")
    img_dir = _folder(root, args.img_dir, DEFAULT_IMG_DIR, "--img-dir")
    ann_dir = _folder(root, args.ann_dir, DEFAULT_ANN_DIR, "--ann-dir")
    images = _walk(img_dir, IMAGE_SUFFIXES)
    if not images:
        raise DatasetError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under '{img_dir}'.")
    suffixes = sorted({os.path.splitext(i)[1] for i in images})
    if len(suffixes) > 1:
        raise DatasetError(f"the images under '{img_dir}' have several suffixes ({', '.join(suffixes)}); mmseg pairs "
                           f"one image suffix with the labels: convert them to one format.")
    suffix = suffixes[0]
    labels = set(_walk(ann_dir, (LABEL_SUFFIX,)))
    pairs, missing = [], []
    for rel in images:
        stem = rel[: -len(suffix)]
        if stem + LABEL_SUFFIX in labels:
            pairs.append((stem, img_dir / rel, ann_dir / (stem + LABEL_SUFFIX)))
        else:
            missing.append(rel)
    if missing:
        from ..data.verify import format_names
        raise DatasetError(f"{len(missing)} image(s) under '{img_dir}' have no label PNG of the same name under "
                           f"'{ann_dir}' (e.g. {missing[0][: -len(suffix)]}{LABEL_SUFFIX}): {format_names(missing)}.")
    return {"root": root, "img_dir": img_dir, "ann_dir": ann_dir, "suffix": suffix, "pairs": pairs,
            "unpaired_labels": len(labels) - len(pairs)}


def check_dataset(layout: Dict[str, object], num_classes: int, reduce_zero_label: bool) -> int:
    """Every header and every label's values (0..K-1, or 0..K with reduce_zero_label, and 255).
    Returns the number of images; raises one :class:`DatasetError` naming the files."""
    from ..data.verify import _check_pair, default_workers, format_names
    allowed = np.zeros(256, dtype=bool)
    allowed[: num_classes + (1 if reduce_zero_label else 0)] = True
    allowed[255] = True
    root = layout["root"]
    tasks = [(stem, i, lb, allowed, root, True, k < 5) for k, (stem, i, lb) in enumerate(layout["pairs"])]
    found: Dict[str, List[str]] = {}
    with ThreadPoolExecutor(max_workers=default_workers()) as ex:
        for problems in ex.map(_check_pair, tasks, chunksize=32):
            for kind, name, detail in problems:
                found.setdefault(kind, []).append(f"{name} ({detail})")
    values = (f"0..{num_classes}" if reduce_zero_label else f"0..{num_classes - 1}") + " and 255"
    texts = {"bad_image": "unreadable image(s)", "bad_label": "unreadable label PNG(s)",
             "mode": "label(s) not single-channel 8-bit (mode L or P)",
             "size": "label(s) whose size differs from their image",
             "values": f"label(s) with values outside {values} (the class file has {num_classes} classes"
                       + ("; --reduce-zero-label shifts them by one)" if reduce_zero_label else
                          "; a dataset whose 0 is background needs --reduce-zero-label)")}
    for kind in ("bad_image", "bad_label", "mode", "size", "values"):
        if kind in found:
            raise DatasetError(f"{len(found[kind])} {texts[kind]}: {format_names(found[kind])}.")
    return len(layout["pairs"])


def scale_and_windows(args) -> Tuple[Tuple[int, int], int, int, str]:
    """``(scale, slide_crop, slide_stride, preset name)`` from --preset / --preset-of and the explicit flags."""
    from ..config import RADSegConfig
    from ..presets import get_dataset
    if args.preset_of and not args.preset:
        raise ConfigError("--preset-of needs --preset low_res|mid_res|high_res.")
    if args.preset:
        p = get_dataset(args.preset_of or DEFAULT_PRESET_OF).preset(args.preset)
        scale, crop, stride, name = tuple(p.scale), p.slide_crop, p.slide_stride, args.preset
    else:
        d = RADSegConfig()
        scale, crop, stride, name = tuple(d.scale), d.slide_crop, d.slide_stride, "custom"
    if args.scale is not None:
        if any(v <= 0 for v in args.scale):
            raise ConfigError(f"--scale must be two positive integers (got {args.scale[0]} {args.scale[1]}).")
        scale, name = tuple(args.scale), "custom"
    if args.slide_crop is not None:
        crop, name = args.slide_crop, "custom"
    if args.slide_stride is not None:
        stride, name = args.slide_stride, "custom"
    return scale, crop, stride, name


def build_config(args, layout: Dict[str, object], classes: List[List[str]]):
    """The mmengine config of an evaluation of ``layout`` (the benchmark configs' runtime, model
    and loader bases, with this dataset)."""
    from mmengine.config import Config
    base = Path(__file__).resolve().parents[2] / "configs_mmseg" / "_base_"
    if not base.is_dir():  # pragma: no cover - an install without the repo's configs
        raise ConfigError(f"the config bases '{base}' are missing; run eval.py from a clone of the repository.")
    cfg = Config.fromfile(str(base / "default_runtime.py"))
    for name in ("radseg_model.py", "test_loader.py"):
        cfg.merge_from_dict(Config.fromfile(str(base / name)).to_dict())
    scale, crop, stride, preset = scale_and_windows(args)
    pipeline = [dict(type="RADSegLoadImageFromFile"), dict(type="Resize", scale=scale, keep_ratio=True),
                dict(type="RADSegLoadAnnotations"), dict(type="PackSegInputs")]
    root = layout["root"]
    cfg.test_dataloader.dataset = dict(
        type="BaseSegDataset", data_root=str(root),
        data_prefix=dict(img_path=str(layout["img_dir"]), seg_map_path=str(layout["ann_dir"])),
        img_suffix=layout["suffix"], seg_map_suffix=LABEL_SUFFIX, reduce_zero_label=bool(args.reduce_zero_label),
        metainfo=dict(classes=tuple(c[0] for c in classes)), pipeline=pipeline)
    cfg.test_pipeline = pipeline
    cfg.model.class_names = str(Path(os.path.abspath(os.path.expanduser(args.classes))))
    cfg.model.num_classes = len(classes)
    cfg.model.slide_crop, cfg.model.slide_stride = crop, stride
    cfg.own_dataset = dict(name=root.name, dir=str(root), img_dir=str(layout["img_dir"]),
                           ann_dir=str(layout["ann_dir"]), reduce_zero_label=bool(args.reduce_zero_label),
                           preset=preset, preset_of=(args.preset_of or DEFAULT_PRESET_OF) if args.preset else None,
                           scale=list(scale))
    return cfg


def load_own_config(args):
    """Check the arguments, the class file and the folders; returns ``(cfg, number of images)``."""
    from ..class_names import load_class_names
    classes = load_class_names(args.classes)
    layout = dataset_layout(args)
    cfg = build_config(args, layout, classes)
    if args.cfg_options:  # as load_config does for a config file (mmengine's parsing)
        from mmengine.config import DictAction
        for kv in args.cfg_options:
            if "=" not in kv:
                raise ConfigError(f"--cfg-options entry '{kv}' is not KEY=VALUE.")
        ns = argparse.Namespace()
        DictAction(option_strings=[], dest="opts")(None, ns, args.cfg_options)
        from ..cfg_options import check_cfg_options  # a key nothing reads is an error, as for a config file
        check_cfg_options(args.cfg_options, cfg.keys(), radseg_model=True)
        cfg.merge_from_dict(ns.opts)
    return cfg, layout, classes
