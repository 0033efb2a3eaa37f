"""``radseg bench`` (also ``python -m radseg.bench`` and ``benchmarks/speed.py``)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from ..errors import ConfigError, OutputError


def _configure(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from .core import BENCH_PRESETS
    p.add_argument("--preset", nargs="+", default=["default"],
                   help=f"presets ({', '.join(BENCH_PRESETS)}), 'default' (voc_low/mid/high, cityscapes_mid/high, "
                        f"ade20k_high, coco_stuff_high) or 'all'")
    p.add_argument("--model_version", "--model-version", default=None,
                   help="RADIO version or registered name (default: the full-size random replica; with "
                        "--model-dir, the export's model)")
    p.add_argument("--sam", default="sam-vit-h-random",
                   help="SAM source or checkpoint for RADSeg+ (default: the full-size random replica)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    p.add_argument("--refine", choices=("off", "on", "both"), default="both", help="RADSeg+ refinement")
    p.add_argument("--mode", choices=("exact", "fast", "both"), default="both",
                   help="exact (bit-identical to the reference) and/or fast")
    p.add_argument("--fast", action="store_true", help="shorthand for --mode fast")
    p.add_argument("--batch", type=int, nargs="+", default=[1], help="batch sizes (images per call)")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per case (default 10; 1 with --small)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed runs first, in every mode (default 2; 1 with --small; at least 1)")
    p.add_argument("--max_windows_per_batch", "--max-windows-per-batch", default="auto",
                   help="windows per backbone call: a number, 'auto' (from free GPU memory) or 'all'")
    p.add_argument("--sam-iou-thresh", type=float, default=-1.0,
                   help="SAM keep threshold; default -1 keeps every mask (random weights: times the whole merge)")
    p.add_argument("--workload", choices=("peaked", "random"), default="peaked",
                   help="RADSeg+ class prompts: 'peaked' (regions form on random weights; radseg/bench/workload.py) "
                        "or 'random' (the text tower's: no region is expected)")
    p.add_argument("--small", action="store_true",
                   help="quarter-size images and stand-in model sizes: runs on a CPU in seconds (CI)")
    p.add_argument("--json", default=None, help="write the JSON report here")
    p.add_argument("--md", default=None, help="write the Markdown tables here")
    p.add_argument("--print-json", action="store_true", help="print the JSON report instead of the tables")
    p.add_argument("--backend", nargs="+", choices=("torch", "onnxruntime"), default=["torch"],
                   help="torch (default); with onnxruntime each exact row is followed by the same case "
                        "through an ONNX export (CPU; docs/DEPLOY.md)")
    p.add_argument("--model-dir", default=None,
                   help="with --backend onnxruntime: run the ONNX Runtime rows from this existing export "
                        "(radseg export onnx) instead of exporting each case")
    p.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                   help="compare registered methods side by side (radseg, radseg+ = radseg with SAM, naclip, "
                        "trident, ...): parameters, FLOPs, interleaved latency, peak memory per preset; "
                        "without it, the RADSeg cases above (today's tables)")
    p.add_argument("--protocol", choices=("radseg", "own", "both"), default="radseg",
                   help="--methods: run each baseline under RADSeg's preset (radseg: same resize, windows and "
                        "classes), its release's own settings for the benchmark (own), or both")
    p.add_argument("--order", choices=("interleaved", "blocked"), default="interleaved",
                   help="--methods: time the methods call by call in turn (interleaved: the same load for all) "
                        "or each method's calls back to back (blocked: no call after another method's)")
    p.add_argument("--peak-memory", choices=("on", "off"), default="on",
                   help="--methods on the CPU: measure each method's peak RSS in a fresh process (default on)")
    p.add_argument("--plugin", action="append", default=[])
    p.set_defaults(func=run_from_args)
    return p


def add_parser(sub) -> argparse.ArgumentParser:
    from ..cli_args import one_line_errors
    p = sub.add_parser("bench", help="speed per preset/mode/batch next to the backbone-only limit "
                                     "(docs/BENCHMARKS.md)")
    return one_line_errors(_configure(p))


def _write(path: str, text: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    except OSError as e:
        raise OutputError(f"cannot write '{path}': {e.strerror or e}.") from None


def _window_cap(value):
    if value in ("all", "none", "None"):
        return None
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"--max_windows_per_batch {value}: use a number, 'auto' or 'all'.") from None


#: classic-bench options that --methods does not use: (attribute, flag)
_CLASSIC_ONLY = (("refine", "--refine"), ("mode", "--mode"), ("fast", "--fast"), ("batch", "--batch"),
                 ("backend", "--backend"), ("model_dir", "--model-dir"))


def _check_methods_flags(args) -> None:
    """--methods measures each method once per preset (exact mode, batch 1, torch, RADSeg+ as its own
    method): a classic-bench option given with it (a value other than the parser's default) would be
    ignored, so it is an error instead."""
    defaults = _configure(argparse.ArgumentParser())
    given = [flag for attr, flag in _CLASSIC_ONLY if getattr(args, attr) != defaults.get_default(attr)]
    if given:
        raise ConfigError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to --methods "
                          "(exact mode, batch 1, torch; refinement is the method radseg+): drop "
                          f"{'it' if len(given) == 1 else 'them'}, or run without --methods for RADSeg's cases.")


def plan_from_args(args):
    """The checked :class:`radseg.bench.plan.BenchPlan` of the parsed options (nothing loaded)."""
    from .plan import plan_bench
    if args.methods is not None:
        _check_methods_flags(args)
    elif args.protocol != "radseg" or args.order != "interleaved":
        flag = "--protocol" if args.protocol != "radseg" else "--order"
        raise ConfigError(f"{flag} applies to --methods (the baselines' settings, the timing order): add "
                          "--methods radseg naclip ...")
    if args.model_dir is not None and "onnxruntime" not in args.backend:
        raise ConfigError("--model-dir is the export of --backend onnxruntime; add --backend torch onnxruntime.")
    if "onnxruntime" in args.backend:
        from ..deploy.bench import use_export
        exported = use_export(args.model_dir)
        args.model_version = args.model_version or exported
    args.model_version = args.model_version or "c-radio_v3-b-random"
    mode = "fast" if args.fast else args.mode
    return plan_bench(
        presets=args.preset, model_version=args.model_version, sam=args.sam, device=args.device,
        refine={"off": (False,), "on": (True,), "both": (False, True)}[args.refine],
        modes={"exact": ("exact",), "fast": ("fast",), "both": ("exact", "fast")}[mode],
        batches=args.batch, repeats=args.repeats or (1 if args.small else 10),
        warmup=args.warmup if args.warmup is not None else (1 if args.small else 2), small=args.small,
        max_windows_per_batch=_window_cap(args.max_windows_per_batch), sam_iou_thresh=args.sam_iou_thresh,
        backends=args.backend, workload=args.workload, methods=args.methods, plugins=args.plugin,
        peak_memory=args.peak_memory == "on",
        protocols={"radseg": ("radseg",), "own": ("own",), "both": ("radseg", "own")}[args.protocol],
        order=args.order)


def run_from_args(args) -> int:
    """plan (every option checked) -> measure -> the tables and files."""
    from ..models.registry import load_plugins
    from .core import run_plan
    from .report import markdown_table, methods_markdown
    load_plugins(args.plugin)
    plan = plan_from_args(args)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.print_json else print
    report = run_plan(plan, log=log)
    text = json.dumps(report, indent=2)
    md = methods_markdown(report) if "rows" in report else markdown_table(report)
    if args.json:
        _write(args.json, text + "\n")
    if args.md:
        _write(args.md, md)
    print(text if args.print_json else md)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    from ..cli_args import OneLineArgumentParser, guarded
    p = _configure(OneLineArgumentParser(prog="radseg bench", description=__doc__.splitlines()[0]))
    args = p.parse_args(argv)
    return guarded(lambda: args.func(args))
