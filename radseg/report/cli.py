"""``radseg report WORK_DIR -o report.html``: the result records as one HTML page.

    radseg report work_logs/sweep -o report.html
    radseg report work_logs/sweep -o report.html --reference my_paper_numbers.yaml
    radseg report work_logs/sweep -o voc.html --datasets voc20 --num-images 8
    radseg report work_logs/sweep --bench bench.json -o report.html      # + speed-accuracy figure, claims
    radseg report work_logs/sweep --bench bench.json --figure pareto -o fig.svg   # the figure alone (.svg/.png)
"""
from __future__ import annotations

import argparse
import sys

from ..results.cli import add_filter_arguments  # the same record filters as `radseg results`
from ..results.table import METRICS


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report", help="one self-contained HTML page of the result records (table, plots, grids)",
        description="Build one self-contained HTML file from the complete result records "
                    "(result.json) under WORK_DIR: the paper's table (as `radseg results`), "
                    "mIoU per resolution preset, per-class IoU of RADSeg and RADSeg+, qualitative "
                    "grids from saved predictions (eval.py --save-predictions), speed and "
                    "provenance per run. The page loads nothing from the network.")
    p.add_argument("work_dir", nargs="?", default="work_logs", metavar="WORK_DIR",
                   help="folder searched recursively for result.json (default work_logs), or one "
                        "run folder / result.json")
    p.add_argument("-o", "--out", default=None, metavar="FILE",
                   help="the HTML file to write (default report.html; with --figure: pareto.svg)")
    p.add_argument("--bench", default=None, metavar="BENCH.json",
                   help="a `radseg bench --json` file: adds the speed-accuracy figure (mIoU of the records, "
                        "else the published one, against ms per image; marker size: parameters) and the "
                        "README claims measured here")
    p.add_argument("--figure", choices=("pareto",), default=None,
                   help="write only this figure to -o (.svg or .png; needs --bench; WORK_DIR may be empty)")
    p.add_argument("--reference", default=None, metavar="FILE",
                   help="reported numbers (YAML or CSV, as `radseg results --reference`): each "
                        "table cell gets the coloured difference")
    p.add_argument("--num-images", "--num_images", dest="num_images", type=int, default=4,
                   metavar="N", help="images per dataset in the qualitative grids (default 4; 0: none)")
    p.add_argument("--metric", choices=METRICS, default="mIoU",
                   help="table, resolution-chart and per-class value (default mIoU; mBoundaryIoU: "
                        "runs of eval.py --boundary-iou, per class Boundary IoU)")
    p.add_argument("--decimals", type=int, default=1, help="digits after the point (default 1)")
    p.add_argument("--title", default=None, help="page title (default: from WORK_DIR)")
    add_filter_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import time

    from .build import build_report
    t0 = time.perf_counter()
    if args.figure:
        return _figure(args)
    out, data = build_report(args.work_dir, args.out or "report.html", bench=args.bench,
                             reference=args.reference, metric=args.metric,
                             decimals=args.decimals, num_images=args.num_images, title=args.title,
                             datasets=args.datasets, resolutions=args.resolutions,
                             models=args.models, refine=args.refine)
    for p in data.incomplete:
        print(f"note: skipped incomplete record {p}", file=sys.stderr)
    for n in data.notes + data.reference_notes + data.grid_notes + (data.pareto.notes if data.pareto else []):
        print(f"note: {n}", file=sys.stderr)
    print(f"wrote {out} ({data.n_records} runs, {len(data.grids)} qualitative grid(s), "
          f"{time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


def _figure(args) -> int:
    from .build import ReportError, write_figure
    if not args.bench:
        raise ReportError("--figure pareto needs --bench BENCH.json (from `radseg bench --json BENCH.json`).")
    out, points = write_figure(args.work_dir, args.bench, args.out or "pareto.svg", decimals=args.decimals,
                               datasets=args.datasets, resolutions=args.resolutions, models=args.models,
                               refine=args.refine)
    from .pareto import point_notes
    for n in point_notes(points):
        print(f"note: {n}", file=sys.stderr)
    drawn = sum(p.miou is not None for p in points)
    print(f"wrote {out} ({drawn} of {len(points)} bench rows drawn)", file=sys.stderr)
    return 0
