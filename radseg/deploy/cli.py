"""``radseg export onnx``: one model and preset -> a folder of ONNX graphs (docs/DEPLOY.md)."""
from __future__ import annotations

import argparse

from ..errors import ConfigError


def add_parser(sub) -> argparse.ArgumentParser:
    from ..cli_args import config_flag, one_line_errors
    from .export import EXPORTER_CHOICES, OPSET
    exp = sub.add_parser("export", help="export RADSeg for deployment (ONNX; docs/DEPLOY.md)")
    one_line_errors(exp)
    what = exp.add_subparsers(dest="export_format", required=True)
    p = what.add_parser("onnx", help="the backbone with SCRA, head_mlp and (RADSeg+) SAM's parts as ONNX graphs",
                        description="Export one model at one preset (window size) into a folder of ONNX "
                                    "graphs, text embeddings and radseg_onnx.json; run it with "
                                    "radseg.deploy.load_onnx_predictor or radseg segment --backend onnxruntime.")
    one_line_errors(p)
    p.add_argument("--out", required=True, help="folder to create (must be new or empty; see --force)")
    p.add_argument("--preset", default=None,
                   help="benchmark preset: <dataset>_<low|mid|high>, e.g. voc_mid, ade20k_high (sets windows, "
                        "scale, coarse_thresh and the classes to embed)")
    config_flag(p, "--model_version", "--model-version")
    config_flag(p, "--lang_model", "--lang-model")
    config_flag(p, "--slide-crop", "--slide_crop", type=int)
    config_flag(p, "--slide-stride", "--slide_stride", type=int)
    config_flag(p, "--scale", type=int, nargs=2, metavar=("LONG", "SHORT"))
    config_flag(p, "--sam-refine", "--sam_refine", action="store_const", const=True)
    config_flag(p, "--sam-ckpt", "--sam_ckpt")
    config_flag(p, "--coarse-thresh", "--coarse_thresh", type=float)
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="network input size of the single pass (with --slide-crop 0)")
    p.add_argument("--classes", default=None,
                   help='class names to embed: "sky, grass|lawn, sheep" or a class-name file / built-in list '
                        "(default: the preset's benchmark classes)")
    p.add_argument("--exporter", choices=EXPORTER_CHOICES, default="auto",
                   help="torch.onnx exporter (auto: dynamo for the backbones, TorchScript for the small graphs)")
    p.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    p.add_argument("--force", action="store_true", help="replace an existing export in --out")
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=run_export)
    return p


def run_export(args) -> int:
    from ..cli_args import config_from_args
    from ..config import RADSegConfig
    from ..models.registry import load_plugins
    from .export import export_onnx, preset_config, require_onnx
    load_plugins(args.plugin)
    require_onnx()
    base = preset_config(args.preset) if args.preset else RADSegConfig()
    config = config_from_args(args, base=base)
    if args.preset is None and args.classes is None:
        raise ConfigError("name the classes to embed: --classes \"a, b, c\" (or a class-name file), or a --preset.")
    from ..commands.preflight import check_model
    config = check_model(config)  # SAM, the model name and its pin fail before anything loads
    m = export_onnx(args.out, config, preset=args.preset, classes=args.classes, size=args.size,
                    exporter=args.exporter, opset=args.opset, force=args.force)
    total = sum(p["bytes"] for p in m["parts"].values())
    print(f"wrote {args.out}: {', '.join(m['parts'])} ({total / 2 ** 20:.1f} MiB), "
          f"{len(m['text']['names'])} text embeddings, in {m['export_s']:.0f} s")
    return 0
