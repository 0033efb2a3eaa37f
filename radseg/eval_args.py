"""eval.py's command line: the parser and the cheap checks that need no mmseg, so that
``eval.py --help`` and a mistyped ``--config`` answer in about 2 s rather than the 8 s that
importing mmseg and mmengine takes. :mod:`radseg.mmseg.evaluate` does the rest.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from .cli_args import OneLineArgumentParser, add_common_help, add_method_flags, config_flag
from .config import RADSegConfig
from .errors import ConfigError
from .models.registry import AllowUnpinnedAction
from .presets import RESOLUTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ``--label-ignore`` / the config key ``label_ignore`` -> the metric's ignore_index.
LABEL_IGNORE = {"literature": 255, "65535": 65535}
#: eval.py --dataset-dir: the default image and label folders (relative to DIR)
DEFAULT_IMG_DIR = "images"
DEFAULT_ANN_DIR = "labels"
#: scale and windows of ``--preset`` come from this benchmark unless ``--preset-of`` names another
DEFAULT_PRESET_OF = "coco_stuff164k"


def str2bool(v) -> bool:
    """``True/False/yes/no/1/0/on/off`` -> bool (argparse type)."""
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "t", "yes", "y", "1", "on"):
        return True
    if s in ("false", "f", "no", "n", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got '{v}'")


def _bool_help(name: str) -> str:
    return f"{RADSegConfig.help(name)} (True/False, or a bare flag for True; default {{default}})"


def build_parser(prog: Optional[str] = None) -> argparse.ArgumentParser:
    p = OneLineArgumentParser(
        prog=prog, description="Evaluate RADSeg on one benchmark config (mmseg test loop, IoU metric). "
                               "Model settings not given keep the config file's values (the defaults "
                               "shown are RADSegConfig's, which the configs use).")
    which = p.add_mutually_exclusive_group(required=True)  # a benchmark config, or your own dataset
    which.add_argument("--config", help="mmseg config, e.g. configs_mmseg/mid_res/voc20.py")
    which.add_argument("--dataset-dir", dest="dataset_dir", default=None, metavar="DIR",
                       help="your own labelled dataset instead: DIR/images and DIR/labels (label PNG values "
                            "0..K-1 in --classes order, 255 ignored; docs/EVALUATE.md)")
    add_method_flags(p)
    config_flag(p, "--model_version", "--model-version",
                help="RADIO version (default {default}), a .pth.tar path, or a registered name")
    config_flag(p, "--lang_model", "--lang-model")
    config_flag(p, "--scra_scaling", "--scra-scaling", type=float)
    config_flag(p, "--scga_scaling", "--scga-scaling", type=float)
    config_flag(p, "--sam_refine", "--sam-refine", type=str2bool, nargs="?", const=True,
                help=_bool_help("sam_refine"))
    config_flag(p, "--sam_ckpt", "--sam-ckpt")
    p.add_argument("--work-dir", "--work_dir", dest="work_dir", default=None,
                   help="where logs and result records go (default work_logs/<preset>_<dataset>)")
    p.add_argument("--data-root", "--data_root", dest="data_root", default=None,
                   help="data folder holding the benchmark folders, or the benchmark folder itself "
                        "(default: $RADSEG_DATA_DIR, else ./data)")
    p.add_argument("--save-predictions", "--save_predictions", dest="save_predictions", default=None,
                   metavar="DIR", help="write each image's predicted label PNG (palette; value = class "
                                       "index, 255 = ignore) and DIR/predictions.json")
    p.add_argument("--save-probs", "--save_probs", dest="save_probs", action="store_true",
                   help="with --save-predictions: also each image's class probabilities "
                        "(float16 .npy, K x H x W)")
    p.add_argument("--boundary-iou", "--boundary_iou", dest="boundary_iou", action="store_true", default=None,
                   help="also Boundary IoU per class and mBoundaryIoU (docs/BOUNDARY_IOU.md; the config "
                        "key test_evaluator.boundary_iou=True does the same)")
    config_flag(p, "--radio_source", "--radio-source", choices=("hub", "local", "hf"))
    config_flag(p, "--radio_revision", "--radio-revision")
    config_flag(p, "--radio_repo", "--radio-repo")
    p.add_argument("--allow-unpinned", "--allow_unpinned", dest="allow_unpinned", action=AllowUnpinnedAction,
                   help="accept a --radio_revision that is not a 40-hex commit (recorded)")
    config_flag(p, "--amp", type=str2bool, nargs="?", const=True, help=_bool_help("amp"))
    config_flag(p, "--compile", type=str2bool, nargs="?", const=True, help=_bool_help("compile"))
    config_flag(p, "--fast", action="store_const", const=True)
    p.add_argument("--num-workers", "--num_workers", dest="num_workers", type=int, default=None,
                   help="data loader workers (config default 4, at most the number of CPU cores)")
    p.add_argument("--plugin", action="append", default=[],
                   help="import this module first (it may register model sources)")
    p.add_argument("--cfg-options", "--cfg_options", dest="cfg_options", nargs="+", default=None, metavar="KEY=VALUE",
                   help="override config keys, mmengine style (e.g. model.slide_stride=112)")
    p.add_argument("--verbose", action="store_true",
                   help="show mmengine's log on the terminal too (it is always written to the work dir)")
    p.add_argument("--label-ignore", "--label_ignore", dest="label_ignore", choices=tuple(LABEL_IGNORE), default=None,
                   help="ADE-847 / PC-459 (16-bit labels): the metric's ignore value. 'literature' (the configs' "
                        "default) = ignore_index 255 as the published numbers (65535 = unlabeled pixels are not "
                        "masked); '65535' = unlabeled pixels ignored (the correct evaluation)")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    p.add_argument("--local_rank", "--local-rank", type=int, default=0)
    add_own_dataset_arguments(p)
    return add_common_help(p)


def add_own_dataset_arguments(p: argparse.ArgumentParser) -> None:
    """The own-dataset flags of eval.py (the sweep declares its own subset: radseg/sweep/cli.py)."""
    g = p.add_argument_group("your own labelled dataset (instead of --config; docs/EVALUATE.md)")
    g.add_argument("--classes", default=None, metavar="FILE",
                   help="with --dataset-dir: the class-name file, one class per line (synonyms joined by ', ')")
    g.add_argument("--img-dir", "--img_dir", dest="img_dir", default=None, metavar="PATH",
                   help=f"image folder, relative to DIR or absolute (default {DEFAULT_IMG_DIR})")
    g.add_argument("--ann-dir", "--ann_dir", dest="ann_dir", default=None, metavar="PATH",
                   help=f"label folder, relative to DIR or absolute (default {DEFAULT_ANN_DIR})")
    g.add_argument("--reduce-zero-label", "--reduce_zero_label", dest="reduce_zero_label", action="store_true",
                   help="label 0 is background to ignore and v means class v-1 (values 0..K, 255 ignored)")
    g.add_argument("--preset", choices=RESOLUTIONS, default=None,
                   help="resize scale and windows of this preset of --preset-of (default: RADSegConfig's, "
                        "= mid_res of coco_stuff164k)")
    g.add_argument("--preset-of", "--preset_of", dest="preset_of", default=None, metavar="BENCHMARK",
                   help=f"the benchmark whose --preset is used (default {DEFAULT_PRESET_OF})")
    g.add_argument("--scale", type=int, nargs=2, default=None, metavar=("LONG", "SHORT"),
                   help="test resize (keep ratio): longest side at most LONG, shorter side SHORT")
    g.add_argument("--slide-crop", "--slide_crop", dest="slide_crop", type=int, default=None,
                   help="sliding-window size in pixels (0: one pass)")
    g.add_argument("--slide-stride", "--slide_stride", dest="slide_stride", type=int, default=None,
                   help="sliding-window step in pixels")


def resolve_config_path(args) -> Path:
    """``--config``'s file (also found relative to the repository when eval.py runs from
    another folder; ``args.config`` is then updated). A folder or a missing file is a
    ConfigError naming the fix."""
    path = Path(args.config)
    if not path.is_file() and not path.is_absolute():
        in_repo = REPO_ROOT / path
        if in_repo.is_file():
            path = in_repo
            args.config = str(path)
    if path.is_dir():
        raise ConfigError(f"--config '{args.config}' is a folder; give one file, e.g. "
                          f"configs_mmseg/mid_res/voc20.py.")
    if not path.is_file():
        hint = ""
        if path.suffix != ".py":
            hint = " (configs are .py files)"
        raise ConfigError(f"config '{args.config}' does not exist{hint}. Pick one of "
                          f"configs_mmseg/{{low_res,mid_res,high_res}}/<dataset>.py.")
    return path
