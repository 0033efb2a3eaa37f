"""The sweep's command line (``eval_all_multi_res.py``): the parser, checks of the inputs
before anything runs, the plan printout (``--dry-run``), :func:`run_sweep` and :func:`main`."""
from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence

from ..cli_args import OneLineArgumentParser, add_common_help, config_flag, guarded
from ..errors import ConfigError
from ..presets import EXTRA_DATASETS, LONG_DATASETS, PAPER_DATASETS, RESOLUTIONS
from .plan import Run, _dedup, check_models, completed_record, plan_sweep
from .processes import Sweep, SweepInterrupted, check_gpus, gpu_ids
from .status import SweepLock

DEFAULT_MODELS = ("c-radio_v3-b",)
DEFAULT_WORK_DIR = "work_logs/sweep"
PARALLEL_MODES = ("runs", "torchrun", "slurm")


# -- arguments ---------------------------------------------------------------------------------

def _refine_mode(v: str) -> str:
    s = str(v).strip().lower()
    if s in ("both", "all"):
        return "both"
    if s in ("on", "true", "t", "yes", "y", "1"):
        return "on"
    if s in ("off", "false", "f", "no", "n", "0"):
        return "off"
    raise argparse.ArgumentTypeError(f"expected both, on or off, got '{v}'")


def build_parser() -> argparse.ArgumentParser:
    from ..models.registry import AllowUnpinnedAction
    p = OneLineArgumentParser(
        prog="eval_all_multi_res.py",
        description="Evaluate RADSeg over datasets x presets x SAM refinement x models, one eval.py "
                    "subprocess per run, resumable. Defaults = the reference sweep: the five paper "
                    "datasets, low/mid/high_res, c-radio_v3-b + siglip2, scalings 10/10, SAM "
                    "refinement off and on. See docs/SWEEP.md.")
    g = p.add_argument_group("grid")
    g.add_argument("--datasets", nargs="+", default=["paper"], metavar="NAME",
                   help="benchmarks (space- or comma-separated): " + ", ".join(PAPER_DATASETS)
                        + " (paper), " + ", ".join(EXTRA_DATASETS) + " (extra), " + ", ".join(LONG_DATASETS)
                        + " (long), a MESS entry; or the groups 'paper' (default), 'extra', 'all' (paper + "
                        "extra), 'long', 'mess' (the 25 MESS entries at their one preset, "
                        "configs_mmseg/mess/: docs/MESS.md)")
    g.add_argument("--resolutions", "--resolution", nargs="+", default=list(RESOLUTIONS),
                   metavar="PRESET", help="presets: low_res, mid_res, high_res (default all three; "
                                          "'low', 'mid', 'high' work too)")
    g.add_argument("--models", "--model_version", "--model-version", dest="models", nargs="+",
                   default=list(DEFAULT_MODELS), metavar="MODEL",
                   help="RADIO versions / registered names / .pth.tar paths (default c-radio_v3-b)")
    g.add_argument("--methods", "--method", dest="methods", nargs="+", default=["radseg"], metavar="METHOD",
                   help="a grid axis of registered methods (default radseg): radseg runs the grid above; "
                        "a baseline runs each dataset once under its own protocol (its release's settings, "
                        "its default weights; folder <method>/own/<dataset>)")
    g.add_argument("--sam-refine", "--sam_refine", dest="sam_refine", type=_refine_mode,
                   default="both", metavar="both|on|off",
                   help="SAM refinement: both (default, like the reference sweep: every run without "
                        "and with refinement), on, or off")
    e = p.add_argument_group("passed to eval.py")
    config_flag(e, "--lang_model", "--lang-model")
    config_flag(e, "--scra_scaling", "--scra-scaling", type=float)
    config_flag(e, "--scga_scaling", "--scga-scaling", type=float)
    e.add_argument("--sam_ckpt", "--sam-ckpt", default=None,
                   help="SAM checkpoint or registered SAM source, for the refinement runs")
    e.add_argument("--data-root", "--data_root", dest="data_root", default=None,
                   help="data folder holding the benchmark folders (default: $RADSEG_DATA_DIR, else ./data); "
                        "resolved once and passed to every run")
    e.add_argument("--num-workers", "--num_workers", dest="num_workers", type=int, default=None)
    e.add_argument("--plugin", action="append", default=[])
    e.add_argument("--radio_source", "--radio-source", choices=("hub", "local", "hf"), default=None)
    e.add_argument("--radio_revision", "--radio-revision", default=None)
    e.add_argument("--radio_repo", "--radio-repo", default=None)
    e.add_argument("--allow-unpinned", "--allow_unpinned", dest="allow_unpinned", action=AllowUnpinnedAction,
                   help="accept a --radio_revision that is not a 40-hex commit (a branch or tag: remote code "
                        "that can change); passed to every run, and recorded")
    e.add_argument("--boundary-iou", "--boundary_iou", dest="boundary_iou", action="store_true",
                   help="every run also computes Boundary IoU (eval.py --boundary-iou); a record without it "
                        "is not counted as done")
    e.add_argument("--label-ignore", "--label_ignore", dest="label_ignore", choices=("literature", "65535"),
                   default=None,
                   help="ADE-847 / PC-459 runs: the metric's ignore value (eval.py --label-ignore; default "
                        "'literature', as the published numbers); other datasets' runs do not take it")
    e.add_argument("--amp", default=None, metavar="True|False")
    e.add_argument("--compile", default=None, metavar="True|False")
    e.add_argument("--cfg-options", "--cfg_options", dest="cfg_options", nargs="+", default=None,
                   metavar="KEY=VALUE")
    o = p.add_argument_group("your own labelled dataset instead of --datasets (passed to eval.py; "
                             "docs/EVALUATE.md)")
    o.add_argument("--dataset-dir", dest="dataset_dir", default=None, metavar="DIR",
                   help="evaluate DIR (images/ and labels/) at each --resolutions preset, with --classes")
    o.add_argument("--classes", default=None, metavar="FILE", help="with --dataset-dir: the class-name file")
    o.add_argument("--img-dir", dest="img_dir", default=None, metavar="PATH", help="image folder (default images)")
    o.add_argument("--ann-dir", dest="ann_dir", default=None, metavar="PATH", help="label folder (default labels)")
    o.add_argument("--reduce-zero-label", dest="reduce_zero_label", action="store_true",
                   help="label 0 is background to ignore, v means class v-1")
    o.add_argument("--preset-of", dest="preset_of", default=None, metavar="BENCHMARK",
                   help="whose presets give the scale and windows (default coco_stuff164k)")
    s = p.add_argument_group("sweep")
    s.add_argument("--work-dir", "--work_dir", dest="work_dir", default=DEFAULT_WORK_DIR,
                   help=f"root of the run folders (default {DEFAULT_WORK_DIR})")
    s.add_argument("--config-dir", default=None,
                   help="folder with low_res/ mid_res/ high_res/ configs (default <repo>/configs_mmseg)")
    s.add_argument("--gpus", type=int, default=None, metavar="N",
                   help="GPUs to use (default: one run at a time on whatever device eval.py finds). N must "
                        "not exceed the visible GPUs. See --parallel-mode")
    s.add_argument("--cpu", action="store_true",
                   help="run on the CPU (no GPU visible to the runs); with --gpus N: N CPU processes (side by "
                        "side, or torchrun with Gloo)")
    s.add_argument("--parallel-mode", choices=PARALLEL_MODES, default="runs",
                   help="with --gpus N > 1: 'runs' (default) = N single-GPU runs side by side, each "
                        "with its own CUDA_VISIBLE_DEVICES; 'torchrun' = one run at a time over N "
                        "processes (torch.distributed.run, --launcher pytorch); 'slurm' = one run at "
                        "a time through srun --ntasks N (--launcher slurm), inside an allocation")
    s.add_argument("--srun-args", default="", help="extra srun arguments for --parallel-mode slurm")
    s.add_argument("--run-timeout", type=float, default=None, metavar="SECONDS",
                   help="kill a run that takes longer (it is recorded as failed)")
    s.add_argument("--force", action="store_true",
                   help="rerun every run, even those with a complete result.json")
    s.add_argument("--dry-run", action="store_true",
                   help="print the plan (run folder and exact eval command per run) and exit")
    s.add_argument("--emit-sbatch-array", default=None, metavar="FILE",
                   help="write the runs not complete yet as a Slurm job array script (the array index "
                        "selects the run; submit with sbatch FILE) and exit without running anything")
    return add_common_help(p)


def print_plan(runs: Sequence[Run], args, out=None) -> None:
    out = out or sys.stdout
    n = len(runs)
    side_by_side = args.parallel_mode == "runs" and args.gpus > 1
    ids = gpu_ids(args.gpus, cpu=args.cpu) if side_by_side else []
    print(f"plan: {n} runs under {args.work_dir}"
          + (f", {args.gpus} side by side on {'' if args.cpu else 'GPUs '}{','.join(ids)}" if side_by_side else ""),
          file=out)
    data = getattr(args, "resolved_data", None)
    if data is not None:
        print(f"data folder: {data.describe()}" + ("" if data.path.is_dir() else " (does not exist yet)"),
              file=out)
    for r in runs:
        done, why = completed_record(r, args)
        tag = "skip (complete record)" if done and not args.force else "run"
        print(f"[{r.index}/{n}] {r.label}: {tag}\n    dir: {r.run_dir}\n    cmd: {shlex.join(r.command)}",
              file=out)


def check_work_dir(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--work-dir '{root}' is a file, not a folder. Give a folder for the runs "
                          f"(default {DEFAULT_WORK_DIR}).")
    for parent in root.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"--work-dir '{root}': '{parent}' is a file, not a folder.")


def describe_datasets(datasets: Sequence[str], data_dir: Path) -> Dict[str, str]:
    """``dataset -> "folder (N images)"`` (or what is missing), said when a dataset's runs start;
    a missing dataset fails its runs only (eval.py says why)."""
    from ..data.benchmarks import resolve_root
    from ..data.verify import count_images
    info = {}
    for ds in datasets:
        root = resolve_root(ds, data_dir)
        n, problem = count_images(ds, root)
        info[ds] = f"{root} ({n} images)" if problem is None else f"{root}: {problem}"
    return info


def warn_missing_sam(runs: Sequence[Run], args, out=None) -> None:
    """Say once, up front, when the refinement runs cannot find a SAM checkpoint."""
    n = sum(1 for r in runs if r.refine)
    if not n:
        return
    from ..errors import RADSegError
    from ..models.sam import resolve_sam
    try:
        resolve_sam(args.sam_ckpt)  # the one SAM resolver (registered sources, look-up, digest)
    except RADSegError as e:
        print(f"warning: {n} refinement run(s) will fail: {e} (or use --sam-refine off)",
              file=sys.stderr if out is None else out)


def emit_sbatch_array(runs: Sequence[Run], args, argv, out=None) -> int:
    """``--emit-sbatch-array FILE``: the runs without a complete record as one job array."""
    from ..data.benchmarks import require_data_dir
    from .sbatch import write_sbatch_array
    require_data_dir(args.resolved_data)
    warn_missing_sam(runs, args, out)
    todo = [r for r in runs if args.force or not completed_record(r, args)[0]]
    path = write_sbatch_array(args.emit_sbatch_array, todo, args,
                              list(sys.argv[1:] if argv is None else argv), len(runs))
    print(f"wrote {path}: a job array of {len(todo)} runs ({len(runs) - len(todo)} already complete). "
          f"Submit with: sbatch {path}", file=out or sys.stdout)
    return 0


def run_sweep(argv: Optional[Sequence[str]] = None, out=None) -> int:
    """Library entry point: parse ``argv`` like ``eval_all_multi_res.py``, run, return the exit
    status (0 all runs complete, 1 some failed, 130 interrupted). Raises RADSegError on usage
    errors (see :func:`main`)."""
    args = build_parser().parse_args(None if argv is None else list(argv))
    root = Path(args.work_dir)
    check_work_dir(root)
    runs = plan_sweep(args)
    check_models(_dedup(r.model for r in runs if r.method == "radseg"), args.plugin)
    if args.emit_sbatch_array:
        return emit_sbatch_array(runs, args, argv, out)
    if args.dry_run:
        warn_missing_sam(runs, args, out)
        try:
            check_gpus(args)
        except ConfigError as e:
            print(f"warning: {e}", file=sys.stderr)
        print_plan(runs, args, out)
        return 0
    check_gpus(args)
    from ..data.benchmarks import require_data_dir
    if args.dataset_dir is None:
        require_data_dir(args.resolved_data)
    warn_missing_sam(runs, args, out)
    data_info = (describe_datasets(_dedup(r.dataset for r in runs), args.resolved_data.path)
                 if args.dataset_dir is None else {r.dataset: f"{args.dataset_dir} (your own dataset)" for r in runs})
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create --work-dir '{root}': {e.strerror}.") from None
    for r in runs:  # a file in the way of a run folder: say so before starting anything
        for p in [r.run_dir, *r.run_dir.parents]:
            if p == root:
                break
            if p.exists() and not p.is_dir():
                raise ConfigError(f"'{p}' is a file; the sweep needs a folder there for {r.label}.")

    def on_term(signum, frame):
        raise SweepInterrupted()

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        with SweepLock(root):
            sweep = Sweep(args, runs, out)
            sweep.data_info = data_info
            return sweep.execute()
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``eval_all_multi_res.py``: usage errors print one ``error: ...`` line, exit 2."""
    try:
        return guarded(lambda: run_sweep(argv))
    except BrokenPipeError:  # e.g. `--dry-run | head`: the reader left, nothing is wrong
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
