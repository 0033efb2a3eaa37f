"""``radseg results``: the paper-style table of the result records under a folder.

    radseg results work_logs/sweep                          # Markdown, mIoU
    radseg results work_logs/sweep --format latex --out table.tex
    radseg results work_logs/sweep --reference docs/reference_results_example.yaml
    radseg results work_logs/sweep/c-radio_v3-b/norefine/low_res/voc20 --per-class
    radseg results work_logs/sweep --per-class voc20 --resolution low_res

MESS records (``--datasets mess`` in the sweep) get their own table after the paper's:
MESS's aggregation (:mod:`.mess`: PAXRay-4, the mean over 22 datasets, five domain means).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from ..errors import ConfigError, RADSegError
from .records import atomic_write_text, load_record
from .reference import load_reference
from .table import (
    FORMATS,
    METRICS,
    build_per_class,
    build_table,
    filter_entries,
    find_records,
    render,
    render_per_class,
)


class ResultsError(RADSegError):
    """No records, or a bad ``radseg results`` argument."""


def parse_on_off(v: str) -> bool:
    s = v.strip().lower()
    if s in ("on", "true", "yes", "1"):
        return True
    if s in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got '{v}'")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "results", help="table of the result records under a folder (Markdown, CSV, LaTeX)",
        description="Render the complete result records (result.json) found under WORK_DIR as the "
                    "paper's table: rows = model x SAM refinement, columns = datasets per "
                    "resolution with a per-resolution average. The newest record per cell wins.")
    p.add_argument("work_dir", nargs="?", default="work_logs", metavar="WORK_DIR",
                   help="folder searched recursively for result.json (default work_logs), or one "
                        "run folder / result.json")
    p.add_argument("--format", choices=FORMATS, default="md", help="md (default), csv or latex")
    p.add_argument("--out", default=None, metavar="FILE", help="write here instead of stdout")
    p.add_argument("--metric", choices=METRICS, default="mIoU",
                   help="cell value (default mIoU; mBoundaryIoU: runs of eval.py --boundary-iou)")
    p.add_argument("--decimals", type=int, default=None,
                   help="digits after the point (default 1 for md/latex; csv keeps the record's)")
    p.add_argument("--reference", default=None, metavar="FILE",
                   help="reported numbers (YAML or CSV, see docs/reference_results_example.yaml): "
                        "each cell gets the difference, e.g. 47.3 (+0.2)")
    p.add_argument("--per-class", nargs="?", const=True, default=None, metavar="DATASET",
                   help="per-class IoU (Boundary IoU with --metric mBoundaryIoU) of one dataset and "
                        "resolution instead (a run folder, or "
                        "narrow with DATASET, --resolution, --model, --refine)")
    add_filter_arguments(p)
    p.set_defaults(func=run)
    return p


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """``--dataset``, ``--resolution``, ``--model``, ``--refine``: which records a view keeps
    (`radseg results` and `radseg report`)."""
    p.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", default=None,
                   help="only these datasets")
    p.add_argument("--resolution", "--resolutions", dest="resolutions", nargs="+", default=None,
                   help="only these presets (low_res, mid_res, high_res)")
    p.add_argument("--model", "--models", dest="models", nargs="+", default=None,
                   help="only these model versions")
    p.add_argument("--refine", type=parse_on_off, default=None, metavar="on|off",
                   help="only runs with SAM refinement on / off")


def check_work_dir(root: Path, error: Optional[Callable[[str], Exception]] = None) -> None:
    """A work dir that does not exist, or a file that is not a record, is one clear error."""
    error = error or ResultsError
    if not root.exists():
        raise error(f"'{root}' does not exist. Give the sweep's --work-dir (default "
                    f"work_logs/sweep) or an eval.py --work-dir.")
    if root.is_file() and root.suffix != ".json":
        raise error(f"'{root}' is a file; give a folder with result.json files (or one "
                    f"result.json).")


def _with_published(reference, entries, metric: str):
    """The user's reference over each baseline's published mIoU (results/published.py) for the
    rows present; a user's cell wins."""
    if metric != "mIoU":
        return reference
    from .published import published_reference
    rows = {e.row for e in entries}
    merged = {k: v for k, v in published_reference().items() if k[0] in rows}
    merged.update(reference or {})
    return merged or reference


def _failed_runs(root: Path):
    if not root.is_dir():
        return []
    return sorted(Path(d) for d, _, files in os.walk(root) if "failed.json" in files)


def run(args: argparse.Namespace) -> int:
    root = Path(args.work_dir)
    check_work_dir(root)
    if args.decimals is not None and not 0 <= args.decimals <= 6:
        raise ConfigError("--decimals must be between 0 and 6.")
    reasons = {}
    entries, bad = find_records(root, reasons)
    if not entries:
        extra = f" ({len(bad)} skipped: {bad[0]}: {reasons.get(bad[0], 'incomplete')} ...)" if bad else ""
        raise ResultsError(f"no complete result records (result.json) under '{root}'{extra}. Run "
                           f"eval.py or eval_all_multi_res.py first.")
    datasets = list(args.datasets or [])
    per_class = args.per_class
    if isinstance(per_class, str):
        datasets = [per_class]
    res = [r if r.endswith("_res") or r not in ("low", "mid", "high") else r + "_res"
           for r in (args.resolutions or [])]
    chosen = filter_entries(entries, datasets or None, res or None, args.models, args.refine)
    if not chosen:
        have = sorted({f"{e.row} {e.resolution}/{e.dataset}" for e in entries})
        raise ResultsError(f"no record under '{root}' matches the filters. Records: "
                           + "; ".join(have[:12]) + (" ..." if len(have) > 12 else ""))
    for p in bad:
        why = reasons.get(p, "incomplete")
        if why.startswith("incomplete"):
            print(f"note: skipped incomplete record {p}{why[len('incomplete'):]}", file=sys.stderr)
        else:
            print(f"note: skipped record {p}: {why}", file=sys.stderr)
    if per_class is not None:
        try:
            pc = build_per_class(chosen)
        except ValueError as e:
            raise ResultsError(f"--per-class needs one dataset at one resolution; found {e}. "
                               f"Narrow with --per-class DATASET and --resolution R (or give a "
                               f"run folder).") from None
        text = render_per_class(pc, args.format, args.decimals, args.metric)
    else:
        reference = None
        if args.reference:
            reference, ref_metric = load_reference(args.reference)
            if ref_metric and ref_metric != args.metric:
                raise ResultsError(f"reference file '{args.reference}' holds {ref_metric}, the table "
                                   f"shows {args.metric}: pass --metric {ref_metric}.")
        from .mess import build_mess_table, is_mess, render_mess
        mess = [e for e in chosen if is_mess(e)]  # MESS's own aggregation, after the paper table
        paper = [e for e in chosen if not is_mess(e)]
        table = build_table(paper, args.metric, _with_published(reference, paper, args.metric))
        if reference:
            unused = [k for k in table.unused_reference() if k in reference]
            if unused:
                shown = ", ".join(f"'{r}' {res}/{d}" for r, res, d in unused[:6])
                print(f"note: {len(unused)} reference value(s) match no cell: {shown}"
                      f"{' ...' if len(unused) > 6 else ''}. Row labels here: "
                      + ", ".join(f"'{r}'" for r in table.rows), file=sys.stderr)
        text = render(table, args.format, args.decimals) if paper else ""
        if mess:
            text += ("\n" if text else "") + render_mess(build_mess_table(mess, args.metric), args.format,
                                                         args.decimals)
    if args.metric == "mBoundaryIoU":
        lacking = [e for e in chosen if "mBoundaryIoU" not in (e.record.get("metrics") or {})]
        if lacking:
            print(f"note: {len(lacking)} record(s) have no mBoundaryIoU (evaluated without "
                  f"--boundary-iou), e.g. {lacking[0].path}: their cells are empty.", file=sys.stderr)
    failed = _failed_runs(root)
    if failed:
        print(f"note: {len(failed)} run(s) under '{root}' failed (see failed.json there): "
              + ", ".join(str(f) for f in failed[:5]) + (" ..." if len(failed) > 5 else ""),
              file=sys.stderr)
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise ResultsError(f"--out '{out}' is a folder; give a file name.")
        existing = load_record(out) if out.suffix == ".json" and out.is_file() else None
        if out.name == "result.json" or (isinstance(existing, dict) and "schema" in existing):
            raise ResultsError(f"--out '{out}' is a result record; refusing to overwrite it.")
        atomic_write_text(out, text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
