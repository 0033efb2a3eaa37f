"""``radseg report``: one self-contained HTML page from the result records under a folder.

:func:`collect` gathers everything the page shows from the records that ``radseg
results`` reads (:func:`radseg.results.table.find_records`, :func:`build_table`,
:func:`build_per_class`, the reference file loader), so the table holds exactly the
numbers of ``radseg results``; :func:`render_html` fills ``templates/report.html.j2``
(jinja2); :func:`build_report` does both and writes the file atomically.

Figures are matplotlib SVGs and the qualitative grids PNGs, all inlined as ``data:``
URIs; the page loads nothing from anywhere. Per-class IoU bars are plain HTML/CSS
bars in the template: a sweep has hundreds of runs times up to 171 classes, which
matplotlib would need minutes to draw, and the browser shows them instantly.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import RADSegError
from ..results.records import atomic_write_text, is_complete_record
from ..results.reference import load_reference
from ..results.table import (  # random weights / subsets (results.honesty)
    DATASET_ORDER,
    DISPLAY,
    METRICS,
    RESOLUTION_ORDER,
    Entry,
    Table,
    _fmt,
    _fmt_diff,
    _header,
    _legend,
    _order,
    _row_sort_key,
    build_per_class,
    build_table,
    cell_mark,
    filter_entries,
    find_records,
    honesty_legend,
    newest_per_cell,
    row_mark,
)
from .page_data import PerClassGroup, PerClassRow, PerClassSection, ReportData, RunInfo, TableCell  # noqa: F401

TEMPLATE = "report.html.j2"
#: above this many runs the speed chart is left out (the table stays)
MAX_SPEED_BARS = 40
#: per-class groups shown expanded when there are at most this many
OPEN_PER_CLASS = 4


class ReportError(RADSegError):
    """A bad ``radseg report`` argument, no records, or an output that cannot be written."""


def config_hash(record: dict) -> str:
    """The record's own ``config_hash`` (of its ``radseg_config``, written by eval.py:
    :func:`radseg.results.provenance.config_hash`) when it has one; for older records, the
    first 12 hex digits of the SHA-256 of the effective config (``settings``, less
    ``work_dir``), canonical JSON. Equal hashes = the same settings. ``""`` without either."""
    own = record.get("config_hash")
    if isinstance(own, str) and own:
        return own
    settings = record.get("settings")
    if not isinstance(settings, dict):
        return ""
    s = {k: v for k, v in settings.items() if k != "work_dir"}
    text = json.dumps(s, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _failed_runs(root: Path) -> List[Path]:
    if not root.is_dir():
        return []
    return sorted(Path(d) / "failed.json" for d, _, files in os.walk(root) if "failed.json" in files)


def _base(row: str) -> str:
    return row[:-len(" + SAM")] if row.endswith(" + SAM") else row


def table_cells(t: Table, decimals: int) -> List[Tuple[str, List[TableCell]]]:
    """The paper table's cells, formatted like ``radseg results`` (same rounding), with the
    reference difference split off so the page can colour it."""
    rows = []
    for row in t.rows:
        cells = []
        for res, ds in t.columns():
            v = t.value(row, res, ds)
            r = t.ref(row, res, ds) if t.reference else None
            avg = ds == "avg"
            if v is None:
                text = "–"
                cells.append(TableCell(text, f"ref {_fmt(r, decimals)}" if r is not None else "",
                                       "same" if r is not None else "", avg=avg))
                continue
            mark = cell_mark(t, row, res, ds)
            cell = TableCell(_fmt(v, decimals) + (f" {mark}" if mark else ""), avg=avg)
            e = t.entries.get((row, res, ds))
            if e is not None:
                cell.title = str(e.path)
            if r is not None:
                d = _fmt_diff(v - r, decimals)
                cell.delta = f"({d})"
                cell.cls = "same" if float(d) == 0 else ("up" if v > r else "down")
                cell.title = (cell.title + "\n" if cell.title else "") + f"reference {_fmt(r, decimals)}"
            cells.append(cell)
        rows.append((row + (f" {row_mark(t, row)}" if row_mark(t, row) else ""), cells))
    return rows


def resolution_plots(t: Table, colours: Dict[str, object]) -> List[Tuple[str, str]]:
    from .plots import resolution_figure
    datasets = _order({d for _, dss in t.groups for d in dss}, DATASET_ORDER)
    out = []
    for ds in datasets:
        resolutions = [res for res, dss in t.groups if ds in dss]
        rows = [r for r in t.rows if any(t.value(r, res, ds) is not None for res in resolutions)]
        values = {(r, res): t.value(r, res, ds) for r in rows for res in resolutions}
        title = DISPLAY.get(ds, ds)
        out.append((title, resolution_figure(title, resolutions, rows, values, t.metric, colours)))
    return out


def per_class_sections(cells: Dict[Tuple[str, str, str], Entry], decimals: int,
                       metric: str = "mIoU") -> List[PerClassSection]:
    """One section per (resolution, dataset); in it one group per model: RADSeg and
    RADSeg+ IoU per class, sorted by the first column's IoU (high first), and the
    RADSeg+ minus RADSeg difference (Boundary IoU and mBoundaryIoU when ``metric`` is
    mBoundaryIoU)."""
    mean = "mBoundaryIoU" if metric == "mBoundaryIoU" else "mIoU"
    pairs = sorted({(k[1], k[2]) for k in cells}, key=lambda p: _run_key(('', p[0], p[1])))
    sections = []
    n_groups = 0
    for res, ds in pairs:
        pc = build_per_class([e for k, e in cells.items() if k[1] == res and k[2] == ds])
        groups = []
        for base in sorted({_base(c) for c in pc.columns}, key=_row_sort_key):
            cols = [c for c in (base, base + " + SAM") if c in pc.columns]
            has_diff = len(cols) == 2
            rows = []
            for name in pc.classes:
                vals = [_num(pc.values(metric).get((c, name))) for c in cols]
                diff = vals[1] - vals[0] if has_diff and None not in vals else None
                rows.append(PerClassRow(name, [(v, _fmt(v, decimals) if v is not None else "–")
                                               for v in vals], diff,
                                        _fmt_diff(diff, decimals) if diff is not None else ""))
            rows.sort(key=lambda r: (r.values[0][0] is None, -(r.values[0][0] or 0.0), r.name))
            max_abs = max([abs(r.diff) for r in rows if r.diff is not None] + [1e-9])
            for r in rows:
                if r.diff is not None:
                    r.diff_width = round(50.0 * abs(r.diff) / max_abs, 2)
            summ = [_num(pc.summary[c].get(mean)) for c in cols]
            sdiff, scls = "", ""
            if has_diff and None not in summ:
                sdiff = _fmt_diff(summ[1] - summ[0], decimals)
                scls = "same" if float(sdiff) == 0 else ("up" if summ[1] > summ[0] else "down")
            groups.append(PerClassGroup(base, cols, [_fmt(v, decimals) if v is not None else "–"
                                                     for v in summ], sdiff, rows, has_diff, scls))
            n_groups += 1
        title = f"{DISPLAY.get(ds, ds)} at {res}"
        sections.append(PerClassSection(res, ds, title, f"pc-{res}-{ds}", groups))
    if n_groups <= OPEN_PER_CLASS:
        for s in sections:
            for g in s.groups:
                g.open = True
    elif sections and sections[0].groups:
        sections[0].groups[0].open = True  # one open as an example; the rest one click away
    return sections


def _short(rev: Any, n: int = 12) -> str:
    s = "" if rev is None else str(rev)
    return s[:n] if len(s) > n and all(c in "0123456789abcdef" for c in s.lower()) else s


_RES_RANK = {r: i for i, r in enumerate(RESOLUTION_ORDER)}
_DS_RANK = {d: i for i, d in enumerate(DATASET_ORDER)}


def _run_key(k: Tuple[str, str, str]):
    """Sort key of a (row, resolution, dataset) cell: row, preset order, paper's dataset order."""
    return (_row_sort_key(k[0]), _RES_RANK.get(k[1], 9), k[1], _DS_RANK.get(k[2], 99), k[2])


def _run_metric(t: Table, k: Tuple[str, str, str], rec: dict) -> Optional[float]:
    """The cell's value in the paper table, else the record's own (a MESS run)."""
    v = t.values.get(k)
    return v if v is not None else _num((rec.get("metrics") or {}).get(t.metric))


def run_infos(cells: Dict[Tuple[str, str, str], Entry], t: Table, root: Path,
              decimals: int) -> List[Tuple[Tuple[str, str, str], RunInfo]]:
    """Speed and provenance of each run (newest record per cell), in table order."""
    out = []
    for k in sorted(cells, key=_run_key):
        e = cells[k]
        rec = e.record
        ips = _num(rec.get("images_per_s"))
        versions = rec.get("versions") or {}
        vtext = ", ".join(f"{n} {versions[n]}" for n in ("torch", "mmseg", "radseg") if versions.get(n))
        try:
            rel = str(e.path.relative_to(root)) if root.is_dir() else str(e.path)
        except ValueError:
            rel = str(e.path)
        peak = _num(rec.get("peak_gpu_mem_mb"))
        tt = _num(rec.get("test_time_s"))
        out.append((k, RunInfo(
            row=k[0], resolution=k[1], dataset=DISPLAY.get(k[2], k[2]),
            metric=_fmt(_run_metric(t, k, rec), decimals) if _run_metric(t, k, rec) is not None else "–",
            num_images=_images_text(rec),
            images_per_s=f"{ips:.3g}" if ips else "–",
            ms_per_image=f"{1000.0 / ips:.1f}" if ips else "–",
            test_time=f"{tt:.1f} s" if tt is not None else "–",
            device=str(rec.get("device") or "–"),
            peak_mem=f"{peak:.0f} MB" if peak is not None else "–",
            world_size=str(rec.get("world_size") or 1),
            model_version=str(rec.get("model_version") or "–"),
            model_source=str(rec.get("model_source") or "–"),
            model_revision=_short(rec.get("model_revision")) or "–",
            model_revision_full=str(rec.get("model_revision") or ""),
            git_revision=_short(rec.get("git_revision"), 10) or "–",
            versions=vtext or "–",
            config_hash=config_hash(rec) or "–",
            finished_at=str(rec.get("finished_at") or "–"),
            record=rel,
            predictions=str(rec.get("predictions_dir") or ""),
        )))
    return out


def _images_text(rec: dict) -> str:
    """``"1449"``, or ``"6 of 1449 ‡"`` for a subset of the benchmark (:mod:`radseg.results.honesty`)."""
    from ..results.honesty import SUBSET_MARK, record_subset
    sub = record_subset(rec)
    return f"{sub[0]} of {sub[1]} {SUBSET_MARK}" if sub else str(rec.get("num_images", "–"))


def _check_options(metric: str, decimals: int, num_images: int) -> None:
    if metric not in METRICS:
        raise ReportError(f"--metric must be one of {', '.join(METRICS)}.")
    if not 0 <= decimals <= 6:
        raise ReportError("--decimals must be between 0 and 6.")
    if num_images < 0:
        raise ReportError("--num-images must be 0 or more.")


def _grid_notes(grids, cells, ds_all, num_images: int) -> List[str]:
    """The grids' own notes, plus one per dataset whose predictions folder holds no predictions."""
    notes = [n for g in grids for n in g.notes]
    for ds in ds_all if num_images > 0 else []:
        if not any(g.dataset == ds for g in grids):
            missing = [e for k, e in cells.items() if k[2] == ds and e.record.get("predictions_dir")]
            if missing:
                notes.append(f"{DISPLAY.get(ds, ds)}: predictions_dir "
                             f"'{missing[0].record['predictions_dir']}' (record "
                             f"{missing[0].path}) has no predictions.json")
    return notes


def collect(work_dir, reference: Optional[str] = None, metric: str = "mIoU", decimals: int = 1,
            num_images: int = 4, title: Optional[str] = None, datasets=None, resolutions=None,
            models=None, refine: Optional[bool] = None, bench: Optional[str] = None) -> ReportData:
    """Everything the page shows (see :class:`ReportData`); ``bench``: a ``radseg bench --json`` file
    for the speed-accuracy figure and the claims table (:mod:`.pareto`)."""
    t0 = time.perf_counter()
    root = Path(work_dir)
    from ..results.cli import check_work_dir
    check_work_dir(root, ReportError)
    _check_options(metric, decimals, num_images)
    entries, bad = find_records(root)
    if not entries:
        extra = f" ({len(bad)} incomplete/unreadable: {bad[0]} ...)" if bad else ""
        raise ReportError(f"no complete result records (result.json) under '{root}'{extra}. Run "
                          f"eval.py or eval_all_multi_res.py first.")
    entries = _filtered(entries, datasets, resolutions, models, refine)
    if not entries:
        raise ReportError(f"no record under '{root}' matches the filters.")
    ref = None
    ref_notes: List[str] = []
    if reference:
        ref, ref_metric = load_reference(reference)
        if ref_metric and ref_metric != metric:
            raise ReportError(f"reference file '{reference}' holds {ref_metric}, the report "
                              f"shows {metric}: pass --metric {ref_metric}.")
    from ..results.mess import build_mess_table, is_mess
    from ..results.mess import header as mess_header
    from ..results.mess import legend as mess_legend
    t = build_table([e for e in entries if not is_mess(e)], metric, ref)  # MESS: its own table below
    mt = build_mess_table(entries, metric)
    if ref:
        unused = t.unused_reference()
        if unused:
            ref_notes.append(f"{len(unused)} reference value(s) match no cell: "
                             + ", ".join(f"'{r}' {rs}/{d}" for r, rs, d in unused[:6])
                             + (" ..." if len(unused) > 6 else ""))
    cells = newest_per_cell(entries)
    all_rows = sorted({k[0] for k in cells}, key=_row_sort_key)
    bases = sorted({_base(r) for r in all_rows}, key=_row_sort_key)
    from .plots import css_colour, row_colour, speed_figure
    colours = {r: row_colour(bases.index(_base(r)), r.endswith(" + SAM")) for r in all_rows}

    runs = run_infos(cells, t, root, decimals)
    speed_plot = None
    speed = [(info, _num(cells[k].record.get("images_per_s"))) for k, info in runs]
    speed = [(info, v) for info, v in speed if v]
    if speed and len(speed) <= MAX_SPEED_BARS:
        speed_plot = speed_figure([f"{i.row} · {i.resolution} · {i.dataset}" for i, _ in speed],
                                  [v for _, v in speed], [colours[i.row] for i, _ in speed])

    from .qualitative import build_grids
    ds_all = _order({k[2] for k in cells}, DATASET_ORDER)
    grids = build_grids(list(cells.values()), ds_all, num_images)
    grid_notes = _grid_notes(grids, cells, ds_all, num_images)
    table_groups = [(r, len(dss) + 1) for r, dss in t.groups]
    headers = [(_header(r, d), d == "avg") for r, d in t.columns()]
    root_text = str(root.resolve())
    from .pareto import build_section
    pareto = build_section(bench, entries, decimals) if bench else None
    return ReportData(
        pareto=pareto, title=title or f"RADSeg results: {root.resolve().name}",
        work_dir=root_text, generated=time.strftime("%Y-%m-%d %H:%M:%S %z"), metric=metric,
        n_records=len(cells), incomplete=[str(p) for p in bad],
        failed=[str(p) for p in _failed_runs(root)],
        table_groups=table_groups, table_headers=headers, table_rows=table_cells(t, decimals),
        table_legend=" ".join([_legend(t)] + honesty_legend(t)), has_reference=bool(ref),
        reference_notes=ref_notes, notes=honesty_legend(t),
        resolution_plots=resolution_plots(t, colours),
        row_colours=[(r, css_colour(colours[r])) for r in t.rows],
        per_class=per_class_sections(cells, decimals, metric), grids=grids, grid_notes=grid_notes,
        num_images=num_images, runs=[info for _, info in runs], speed_plot=speed_plot,
        build_seconds=time.perf_counter() - t0,
        per_class_label="Boundary IoU" if metric == "mBoundaryIoU" else "IoU",
        per_class_mean="mBoundaryIoU" if metric == "mBoundaryIoU" else "mIoU",
        mess_headers=[mess_header(c) for c in mt.columns()],
        mess_rows=[(r, [("–" if mt.cell(r, c) is None else
                         _fmt(mt.cell(r, c), decimals) + ("*" if mt.marked(r, c) else "")) for c in mt.columns()])
                   for r in mt.rows],
        mess_legend=mess_legend(mt) if mt.rows else "")


def _filtered(entries, datasets, resolutions, models, refine) -> List[Entry]:
    res = [r + "_res" if r in ("low", "mid", "high") else r for r in (resolutions or [])]
    return filter_entries(entries, datasets or None, res or None, models, refine)


def write_figure(work_dir, bench: str, out, decimals: int = 1, datasets=None, resolutions=None, models=None,
                 refine: Optional[bool] = None) -> Tuple[Path, list]:
    """``--figure pareto``: the speed-accuracy figure alone (``.svg`` or ``.png``), from ``bench`` and the
    records under ``work_dir`` (an empty folder gives published numbers only). Returns ``(out, points)``."""
    from ..results.cli import check_work_dir
    from .bench_input import load_bench
    from .pareto import figure_bytes, pareto_points
    out = Path(out)
    if out.suffix.lower() not in (".svg", ".png"):
        raise ReportError(f"--figure pareto writes an .svg or .png file; -o '{out}' has neither suffix.")
    _check_out(out)
    root = Path(work_dir)
    check_work_dir(root, ReportError)
    entries = _filtered(find_records(root)[0], datasets, resolutions, models, refine)
    data = load_bench(bench)
    points = pareto_points(data, entries, decimals)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(figure_bytes(data, points, fmt=out.suffix.lower()[1:]))
        os.replace(tmp, out)
    except OSError as e:
        raise ReportError(f"-o '{out}' cannot be written: {e.strerror or e}.") from None
    return out, points


# -- rendering --------------------------------------------------------------------------------------

def render_html(data: ReportData) -> str:
    import jinja2
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE).render(d=data)


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise ReportError(f"-o '{out}' is a folder; give a file name, e.g. {out / 'report.html'}.")
    if out.name == "result.json" or (out.suffix == ".json" and is_complete_record(out)):
        raise ReportError(f"-o '{out}' is a result record; refusing to overwrite it.")
    parent = out.parent if str(out.parent) else Path(".")
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ReportError(f"-o '{out}': '{existing}' is not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ReportError(f"-o '{out}' cannot be written (no write permission in '{existing}').")


def build_report(work_dir, out, **kwargs) -> Tuple[Path, ReportData]:
    """Collect, render and write the report to ``out``; returns ``(out, data)``."""
    try:
        import jinja2  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ReportError(f"radseg report needs matplotlib and jinja2 ({e.name} is missing): "
                          f"pip install -e \".[report]\"") from None
    out = Path(out)
    _check_out(out)
    data = collect(work_dir, **kwargs)
    text = render_html(data)
    try:
        atomic_write_text(out, text)
    except OSError as e:
        raise ReportError(f"-o '{out}' cannot be written: {e.strerror or e}.") from None
    return out, data

