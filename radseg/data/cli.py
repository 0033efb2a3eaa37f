"""``radseg data prepare|verify`` (also ``python -m radseg.data.cli prepare|verify``).

    radseg data prepare DATASET [--raw PATH] [--out DATA_DIR] [--train] [--workers N]
    radseg data verify DATASET [ROOT] [--data-dir DATA_DIR] [--quick] [--strict] [--workers N]

Exit codes: 0 usable (warnings allowed), 1 verification found problems,
2 a user mistake (missing download, wrong path: one line saying what to fix).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..cli_args import OneLineArgumentParser, one_line_errors
from ..dataset_registry import dataset_names, get_dataset
from ..errors import DatasetError, RADSegError
from .benchmarks import resolve_data_dir

#: ``radseg data verify mess``: all 25 MESS entries under the data dir.
MESS_GROUP = "mess"


def _benchmark_keys():
    """The registry's datasets other than MESS's entries (the benchmarks, a user's own), read when
    the parser is built (so a dataset registered by a plugin is a choice)."""
    return tuple(k for k in dataset_names() if get_dataset(k).group != MESS_GROUP)


def _mess_keys():
    return dataset_names(MESS_GROUP)


def _epilog() -> str:
    return "datasets and their default folders under DATA_DIR: " + ", ".join(
        f"{k} -> {get_dataset(k).root}" for k in _benchmark_keys()) + ". See docs/DATA.md."


def _add_subcommands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="{prepare,verify,example}",
                                parser_class=OneLineArgumentParser)
    sub.required = True
    bench_keys, mess_keys = _benchmark_keys(), _mess_keys()
    all_keys, epilog = bench_keys + mess_keys + (MESS_GROUP,), _epilog()

    pp = sub.add_parser(
        "prepare", help="convert/link an extracted official download into the mmseg layout",
        description="Convert (Context, COCO-Stuff, COCO-Object, Cityscapes, ADE-847 from ADE20K_2021_17_01, "
                    "PC-459 from VOC2010 + trainval/*.mat) or check and link (VOC, ADE20K) an extracted "
                    "official download into DATA_DIR/<folder>. "
                    "Idempotent: existing valid labels are kept.", epilog=epilog)
    pp.add_argument("dataset", choices=all_keys, metavar="DATASET",
                    help=f"one of: {', '.join(bench_keys)} (MESS's entries are prepared by "
                         f"MESS's own scripts: docs/MESS.md)")
    pp.add_argument("--raw", metavar="PATH",
                    help="folder where the download was extracted (default: the dataset's folder "
                         "in DATA_DIR, i.e. convert in place; for coco_object the coco_stuff164k "
                         "folder)")
    pp.add_argument("--out", "--data-dir", dest="data_dir", metavar="DATA_DIR", default=None,
                    help="data folder to fill (default: $RADSEG_DATA_DIR, else ./data)")
    pp.add_argument("--train", action="store_true",
                    help="also convert the train split (evaluation needs only val)")
    pp.add_argument("--workers", type=int, default=None, metavar="N",
                    help="conversion processes (default: min(4, CPUs))")
    pp.add_argument("--json", dest="json_path", metavar="PATH",
                    help="context59/60: trainval_merged.json if not in the VOC2010 folder")
    pp.add_argument("--cityscapes-method", choices=("auto", "scripts", "labelids"), default="auto",
                    help="cityscapes: cityscapesscripts json2labelImg (scripts), remap of "
                         "_gtFine_labelIds.png (labelids), or scripts when installed (auto)")

    pv = sub.add_parser(
        "verify", help="check a prepared dataset (pairs, sizes, channels, values, counts)",
        description="Check a prepared val split: every image has its label, same H x W, "
                    "single-channel 8-bit (ade847, pc459: 16-bit TIFF) labels with values in range, clean split file, "
                    "expected count (a warning unless --strict).", epilog=epilog)
    pv.add_argument("dataset", choices=all_keys, metavar="DATASET",
                    help=f"one of: {', '.join(bench_keys)}; a MESS entry ({', '.join(mess_keys)}); "
                         f"or 'mess' for all 25 MESS entries (docs/MESS.md)")
    pv.add_argument("root", nargs="?", metavar="ROOT",
                    help="dataset folder (default: DATA_DIR/<default folder>, or an accepted "
                         "alternative name that exists); for 'mess' the data folder MESS prepared")
    pv.add_argument("--data-dir", dest="data_dir", metavar="DATA_DIR", default=None,
                    help="data folder (default: $RADSEG_DATA_DIR, else ./data)")
    pv.add_argument("--quick", action="store_true",
                    help="what eval.py checks: folders, split file, pairing, every header (size, mode), "
                         "the values of a sample of labels and a sample of decoded images")
    pv.add_argument("--strict", action="store_true",
                    help="a val count different from the official one is an error")
    pv.add_argument("--workers", type=int, default=None, metavar="N",
                    help="threads reading labels (default: min(8, CPUs))")


    pe = sub.add_parser(
        "example", help="write a small labelled example dataset (images/, labels/, classes.txt)",
        description="Write a small synthetic labelled dataset in the layout `eval.py --dataset-dir` reads, "
                    "to try evaluating your own dataset offline (docs/EVALUATE.md).")
    pe.add_argument("dir", metavar="DIR", help="folder to create (must not hold images/ or labels/ yet)")
    pe.add_argument("-n", "--num-images", dest="num_images", type=int, default=6, help="images (default 6)")


def _example(args) -> int:
    from .example import write_example
    if args.num_images < 1:
        raise DatasetError(f"--num-images must be >= 1 (got {args.num_images}).")
    paths = write_example(args.dir, n=args.num_images)
    d = args.dir
    print(f"wrote {len(paths)} images, their label PNGs and classes.txt to {d}")
    print(f"next: python eval.py --dataset-dir {d} --classes {d}/classes.txt --model_version tiny-random "
          f"--preset low_res")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``data`` sub-command (with ``prepare`` / ``verify``) to a top-level CLI."""
    p = subparsers.add_parser("data", help="prepare or verify benchmark datasets; write an example dataset",
                              description="Prepare or verify benchmark datasets.", epilog=_epilog())
    one_line_errors(p)
    _add_subcommands(p)
    p.set_defaults(func=run)
    return p


def _prepare(args) -> int:
    from .prepare import prepare_dataset
    from .verify import verify_dataset

    if args.dataset in _mess_keys() + (MESS_GROUP,):
        from .mess import get_entry, how_to_get
        how = ("`pip install mess-benchmark`, then `python -m mess.prepare_all_datasets --dataset_dir <data dir>`"
               if args.dataset == MESS_GROUP else how_to_get(get_entry(args.dataset)))
        raise DatasetError(f"{args.dataset} is prepared by the MESS project's own scripts, not by radseg: {how} "
                           f"(docs/MESS.md); then `radseg data verify {args.dataset}`.")

    data_dir = resolve_data_dir(args.data_dir, flag="--out")
    if data_dir.path.exists() and not data_dir.path.is_dir():
        raise DatasetError(f"data folder {data_dir.describe()} is a file, not a folder: pass --out DIR.")
    if args.workers is not None and args.workers < 1:
        raise DatasetError(f"--workers must be >= 1 (got {args.workers}).")
    print(f"data folder: {data_dir.describe()}")
    res = prepare_dataset(args.dataset, raw=args.raw, data_dir=data_dir.path, train=args.train,
                          workers=args.workers, json_path=args.json_path,
                          cityscapes_method=args.cityscapes_method)
    print(res.message())
    rep = verify_dataset(args.dataset, res.root, quick=True)
    print(rep.summary())
    if rep.ok:
        print(f"next: radseg data verify {args.dataset} {res.root}   (full check of every label)")
    return 0 if rep.ok else 1


def _verify_mess_group(args) -> int:
    """``radseg data verify mess [DATA_DIR]``: every entry present is verified; the missing ones
    are listed with how to get them. Exit 0 only when all 25 are there and usable."""
    from .benchmarks import require_data_dir
    from .mess import MESS_ENTRIES, how_to_get, missing_entries
    from .verify import verify_dataset

    data_dir = resolve_data_dir(args.root or args.data_dir, flag="ROOT" if args.root else "--data-dir")
    base = require_data_dir(data_dir)
    print(f"data folder: {data_dir.describe()}")
    missing = {e.key for e in missing_entries(base)}
    bad = 0
    for key, e in MESS_ENTRIES.items():
        if key in missing:
            continue
        rep = verify_dataset(key, base / e.root, quick=args.quick, strict=args.strict, workers=args.workers)
        print(rep.summary())
        bad += not rep.ok
    if missing:
        print(f"missing: {len(missing)} of {len(MESS_ENTRIES)} MESS entries (no image or label folder). "
              f"How to get them (pip install mess-benchmark):")
        for key in MESS_ENTRIES:
            if key in missing:
                print(f"  {how_to_get(MESS_ENTRIES[key])}")
    n_ok = len(MESS_ENTRIES) - len(missing) - bad
    print(f"MESS: {n_ok} of {len(MESS_ENTRIES)} entries usable, {bad} with problems, {len(missing)} missing.")
    return 0 if n_ok == len(MESS_ENTRIES) else 1


def _verify(args) -> int:
    from .benchmarks import candidate_roots, require_data_dir, resolve_root
    from .verify import verify_dataset

    if args.workers is not None and args.workers < 1:
        raise DatasetError(f"--workers must be >= 1 (got {args.workers}).")
    if args.dataset == MESS_GROUP:
        if args.root is not None and args.data_dir is not None:
            raise DatasetError("give the data folder (ROOT) or --data-dir, not both.")
        return _verify_mess_group(args)
    if args.root is not None and args.data_dir is not None:
        raise DatasetError("give the dataset folder (ROOT) or --data-dir, not both.")
    if args.root:
        root = Path(os.path.abspath(os.path.expanduser(args.root)))
        if not root.is_dir():
            what = "is a file" if root.exists() else "does not exist"
            raise DatasetError(f"ROOT '{args.root}' {what}; give the {args.dataset} folder or the data "
                               f"folder that holds it.")
    else:
        data_dir = resolve_data_dir(args.data_dir, flag="--data-dir")
        require_data_dir(data_dir)
        print(f"data folder: {data_dir.describe()}")
        root = resolve_root(args.dataset, data_dir.path)
        if not root.is_dir():
            tried = ", ".join(str(c) for c in candidate_roots(args.dataset, data_dir.path))
            how = f"`radseg data prepare {args.dataset} --raw DOWNLOAD`"
            if args.dataset in _mess_keys():
                from .mess import get_entry, how_to_get
                how = f"MESS's scripts, {how_to_get(get_entry(args.dataset))}"
            raise DatasetError(f"no {args.dataset} folder in data folder {data_dir.describe()} (tried {tried}): "
                               f"prepare it with {how}, or give its folder as ROOT.")
    if args.root:  # the data folder given instead of the dataset folder (as eval.py --data-root allows)
        inner = Path(resolve_root(args.dataset, root))
        if inner != root and inner.is_dir():
            print(f"note: {args.root} holds the data folders; checking {inner}")
            root = inner
    rep = verify_dataset(args.dataset, root, quick=args.quick, strict=args.strict,
                         workers=args.workers, progress=True)
    print(rep.summary())
    return 0 if rep.ok else 1


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``data prepare|verify`` command; returns the exit code."""
    try:
        if args.data_command == "prepare":
            return _prepare(args)
        if args.data_command == "example":
            return _example(args)
        return _verify(args)
    except RADSegError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = OneLineArgumentParser(prog="python -m radseg.data.cli",
                                   description="Prepare or verify benchmark datasets.",
                                   epilog=_epilog())
    _add_subcommands(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
