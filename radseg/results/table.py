"""Paper-style tables from result records (pure Python: no torch, no mmseg).

* :func:`find_records` collects the complete ``result.json`` records under a folder;
  :func:`newest_per_cell` keeps the newest per (row, resolution, dataset) (both in
  :mod:`.collect`, re-exported here).
* :func:`build_table` lays them out like the paper: rows = model x refinement
  (``c-radio_v3-b`` / ``c-radio_v3-b + SAM``), columns = datasets grouped per
  resolution, plus an ``Avg`` column per resolution; :func:`render` writes
  Markdown, CSV or LaTeX, optionally with the difference to reported numbers.
* :func:`build_per_class` / :func:`render_per_class`: per-class IoU of one
  dataset at one resolution (one column per row of the main table).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..presets import DATASET_ORDER, DATASETS, RESOLUTIONS
from .collect import (
    DEFAULT_LANG_MODEL,
    DEFAULT_SCALING,
    Entry,
    _order,
    _row_sort_key,
    filter_entries,
    find_records,
    json_repr,
    model_name,
    newest_per_cell,
    record_problem,
    row_label,
)
from .honesty import RANDOM_MARK, SUBSET_MARK, is_random, legend_lines, record_subset
from .reference import Reference

__all__ = ["DATASET_ORDER", "DEFAULT_LANG_MODEL", "DEFAULT_SCALING", "DISPLAY", "Entry", "FORMATS", "METRICS",
           "MISSING", "PerClass", "RESOLUTION_ORDER", "Table", "build_per_class", "build_table",
           "filter_entries", "find_records", "json_repr", "latex_escape", "model_name", "newest_per_cell",
           "record_problem", "render", "render_csv", "render_latex", "render_markdown", "render_per_class",
           "row_label"]

# the orders and the column titles come from the one table of dataset facts
RESOLUTION_ORDER = (*RESOLUTIONS, "own")  # "own": a baseline under its release's own settings
DISPLAY = {key: facts.title for key, facts in DATASETS.items()}
METRICS = ("mIoU", "mAcc", "aAcc", "mBoundaryIoU")  # mBoundaryIoU: records of eval.py --boundary-iou
FORMATS = ("md", "csv", "latex")
MISSING = "–"


# -- the table --------------------------------------------------------------------------------------

@dataclass
class Table:
    metric: str
    rows: List[str]
    groups: List[Tuple[str, List[str]]]  # (resolution, datasets)
    values: Dict[Tuple[str, str, str], float]
    entries: Dict[Tuple[str, str, str], Entry] = field(default_factory=dict)
    reference: Reference = field(default_factory=dict)

    def value(self, row: str, res: str, ds: str) -> Optional[float]:
        if ds == "avg":
            return self.avg(row, res)
        return self.values.get((row, res, ds))

    def avg(self, row: str, res: str) -> Optional[float]:
        """Mean over the preset's datasets; None unless the row has every one of them."""
        dss = dict(self.groups)[res]
        vals = [self.values.get((row, res, d)) for d in dss]
        if not vals or any(v is None for v in vals):
            return None
        return sum(vals) / len(vals)

    def ref(self, row: str, res: str, ds: str) -> Optional[float]:
        v = self.reference.get((row, res, ds))
        if v is None and ds == "avg":
            dss = dict(self.groups)[res]
            vals = [self.reference.get((row, res, d)) for d in dss]
            if vals and all(x is not None for x in vals):
                v = sum(vals) / len(vals)
        return v

    def columns(self) -> List[Tuple[str, str]]:
        return [(res, ds) for res, dss in self.groups for ds in [*dss, "avg"]]

    def unused_reference(self) -> List[Tuple[str, str, str]]:
        cols = set(self.columns())
        return sorted(k for k in self.reference if k[0] not in self.rows or (k[1], k[2]) not in cols)


def build_table(entries: Sequence[Entry], metric: str = "mIoU",
                reference: Optional[Reference] = None) -> Table:
    """Rows = model x refinement, columns = datasets per resolution (newest record per cell)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}")
    cells = newest_per_cell(entries)
    rows = sorted({k[0] for k in cells}, key=_row_sort_key)
    resolutions = _order({k[1] for k in cells}, RESOLUTION_ORDER)
    groups = [(res, _order({k[2] for k in cells if k[1] == res}, DATASET_ORDER)) for res in resolutions]
    values = {}
    for k, e in cells.items():
        v = (e.record.get("metrics") or {}).get(metric)
        if isinstance(v, (int, float)):
            values[k] = float(v)
    return Table(metric, rows, groups, values, cells, dict(reference or {}))


# -- rendering ---------------------------------------------------------------------------------------

def _fmt(v: Optional[float], decimals: Optional[int]) -> str:
    if v is None:
        return ""
    if decimals is None:
        return f"{round(v, 2):g}"
    return f"{v:.{decimals}f}"


def _fmt_diff(d: float, decimals: Optional[int]) -> str:
    dec = 2 if decimals is None else decimals
    d = round(d, dec)
    if d == 0:
        d = 0.0  # no "-0.0"
    return f"{d:+.{dec}f}"


def _cell_text(t: Table, row: str, res: str, ds: str, decimals: int, latex: bool = False) -> str:
    v = t.value(row, res, ds)
    r = t.ref(row, res, ds) if t.reference else None
    if v is None:
        if r is not None:
            return f"{MISSING} (ref {_fmt(r, decimals)})"
        return MISSING if not latex else "--"
    s = _fmt(v, decimals)
    if r is not None:
        d = _fmt_diff(v - r, decimals)
        s += f" {{\\scriptsize ({d})}}" if latex else f" ({d})"
    return s


def row_mark(t: Table, row: str) -> str:
    """``"†"`` when a record of ``row`` has random stand-in weights (:mod:`.honesty`)."""
    return RANDOM_MARK if any(is_random(e.record) for k, e in t.entries.items() if k[0] == row) else ""


def cell_mark(t: Table, row: str, res: str, ds: str) -> str:
    """``"‡"`` when the cell (or, for ``avg``, one of its datasets) comes from a subset of the images."""
    dss = dict(t.groups)[res] if ds == "avg" else [ds]
    return SUBSET_MARK if any(record_subset(t.entries[(row, res, d)].record) for d in dss
                              if (row, res, d) in t.entries) else ""


def honesty_legend(t: Table) -> List[str]:
    """The legend of the marks in ``t`` (:func:`.honesty.legend_lines`)."""
    return legend_lines(e.record for e in t.entries.values())


def _header(res: str, ds: str) -> str:
    return "Avg" if ds == "avg" else DISPLAY.get(ds, ds)


def _legend(t: Table) -> str:
    s = (f"{t.metric} (%), newest complete record per cell; Avg = mean over the preset's datasets "
         f"(blank unless the row has them all)")
    if t.reference:
        s += "; (±x) = this result minus the reference"
    return s + "."


def render_markdown(t: Table, decimals: int = 1) -> str:
    cols = t.columns()
    head = ["Model"] + [f"{res} {_header(res, ds)}" for res, ds in cols]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join([":---"] + ["---:"] * len(cols)) + "|"]
    for row in t.rows:
        cells = [row + (f" {row_mark(t, row)}" if row_mark(t, row) else "")]
        for res, ds in cols:
            text, mark = _cell_text(t, row, res, ds, decimals), cell_mark(t, row, res, ds)
            cells.append(f"{text} {mark}" if mark and t.value(row, res, ds) is not None else text)
        lines.append("| " + " | ".join(cells) + " |")
    notes = "".join(f"\n{n}\n" for n in honesty_legend(t))
    return "\n".join(lines) + f"\n\n_{_legend(t)}_\n" + notes


def render_csv(t: Table, decimals: Optional[int] = None) -> str:
    """One line per row; ``<res>/<dataset>`` columns hold plain numbers (the record's values
    unless ``decimals``); with a reference, ``... ref`` and ``... diff`` columns follow each."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = t.columns()
    head = ["row", "model", "sam_refine"]
    for res, ds in cols:
        head.append(f"{res}/{ds}")
        if t.reference:
            head += [f"{res}/{ds} ref", f"{res}/{ds} diff"]
    legend = honesty_legend(t)
    if legend:  # random weights or subsets: a notes column says so per row
        head.append("notes")
    w.writerow(head)
    for row in t.rows:
        some = next((e for k, e in t.entries.items() if k[0] == row), None)
        rec = some.record if some else {}
        line = [row, model_name(rec), bool(rec.get("sam_refine"))]
        for res, ds in cols:
            v = t.value(row, res, ds)
            line.append(_fmt(v, decimals if decimals is not None else (2 if ds == "avg" else None)))
            if t.reference:
                r = t.ref(row, res, ds)
                line.append(_fmt(r, decimals))
                line.append(_fmt_diff(v - r, decimals) if (v is not None and r is not None) else "")
        if legend:
            notes = ["random stand-in weights"] if row_mark(t, row) else []
            notes += [f"{res}/{ds}: {n} of {m} images" for (r_, res, ds), e in sorted(t.entries.items())
                      if r_ == row for n, m in [record_subset(e.record) or (None, None)] if n is not None]
            line.append("; ".join(notes))
        w.writerow(line)
    return buf.getvalue()


def latex_escape(s: str) -> str:
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
           "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
    return "".join(rep.get(c, c) for c in s)


def render_latex(t: Table, decimals: int = 1) -> str:
    n = [len(dss) + 1 for _, dss in t.groups]
    spec = "l" + "".join(" " + "c" * k for k in n)
    lines = [f"% {_legend(t)} Needs \\usepackage{{booktabs}}.",
             f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
    tops, rules, col = [], [], 2
    for (res, _), k in zip(t.groups, n):
        tops.append(f"\\multicolumn{{{k}}}{{c}}{{{latex_escape(res)}}}")
        rules.append(f"\\cmidrule(lr){{{col}-{col + k - 1}}}")
        col += k
    lines.append(" & " + " & ".join(tops) + " \\\\")
    lines.append(" ".join(rules))
    lines.append("Model & " + " & ".join(latex_escape(_header(r, d)) for r, d in t.columns()) + " \\\\")
    lines.append("\\midrule")
    tex_marks = {RANDOM_MARK: "$^\\dagger$", SUBSET_MARK: "$^\\ddagger$"}
    for row in t.rows:
        cells = [latex_escape(row) + tex_marks.get(row_mark(t, row), "")]
        for r, d in t.columns():
            text = _cell_text(t, row, r, d, decimals, latex=True)
            cells.append(text + (tex_marks.get(cell_mark(t, row, r, d), "") if t.value(row, r, d) is not None else ""))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    for n in honesty_legend(t):  # below the table, and as a comment for whoever copies only the tabular
        text = latex_escape(n[1:].strip())
        lines += [f"% {n}", f"\\par{{\\footnotesize {tex_marks[n[0]]} {text}}}"]
    return "\n".join(lines) + "\n"


def render(t: Table, fmt: str = "md", decimals: Optional[int] = None) -> str:
    if fmt == "md":
        return render_markdown(t, 1 if decimals is None else decimals)
    if fmt == "csv":
        return render_csv(t, decimals)
    if fmt == "latex":
        return render_latex(t, 1 if decimals is None else decimals)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


# -- per-class ----------------------------------------------------------------------------------------

@dataclass
class PerClass:
    dataset: str
    resolution: str
    columns: List[str]  # row labels of the main table
    classes: List[str]
    iou: Dict[Tuple[str, str], Optional[float]]  # (column, class) -> IoU
    acc: Dict[Tuple[str, str], Optional[float]]
    summary: Dict[str, Dict[str, Optional[float]]]  # column -> metrics
    paths: Dict[str, Path]
    biou: Dict[Tuple[str, str], Optional[float]] = field(default_factory=dict)  # (column, class) -> Boundary IoU
    marks: Dict[str, str] = field(default_factory=dict)  # column -> "†"/"‡" (:mod:`.honesty`)
    legend: List[str] = field(default_factory=list)

    def values(self, metric: str = "mIoU") -> Dict[Tuple[str, str], Optional[float]]:
        """Per-class values for a table of ``metric``: Boundary IoU for mBoundaryIoU, else IoU."""
        return self.biou if metric == "mBoundaryIoU" else self.iou


def build_per_class(entries: Sequence[Entry]) -> PerClass:
    """Per-class IoU of one (dataset, resolution); one column per model x refinement."""
    cells = newest_per_cell(entries)
    pairs = sorted({(k[1], k[2]) for k in cells})
    if len(pairs) != 1:
        raise ValueError(", ".join(f"{r}/{d}" for r, d in pairs))
    res, ds = pairs[0]
    cols = sorted({k[0] for k in cells}, key=_row_sort_key)
    classes: List[str] = []
    iou, acc, summary, paths, biou = {}, {}, {}, {}, {}
    for col in cols:
        e = cells[(col, res, ds)]
        paths[col] = e.path
        summary[col] = dict(e.record.get("metrics") or {})
        for name, v in (e.record.get("per_class") or {}).items():
            if name not in classes:
                classes.append(name)
            iou[(col, name)] = (v or {}).get("IoU")
            acc[(col, name)] = (v or {}).get("Acc")
            biou[(col, name)] = (v or {}).get("BoundaryIoU")
    from .honesty import marks as record_marks
    marks = {c: record_marks(cells[(c, res, ds)].record) for c in cols}
    legend = legend_lines(cells[(c, res, ds)].record for c in cols)
    return PerClass(ds, res, cols, classes, iou, acc, summary, paths, biou, marks, legend)


def render_per_class(p: PerClass, fmt: str = "md", decimals: Optional[int] = None, metric: str = "mIoU") -> str:
    """Classes as rows; IoU per column (and Acc too when there is one column). Last row:
    the record's mIoU (and mAcc). ``metric="mBoundaryIoU"``: Boundary IoU and mBoundaryIoU."""
    single = len(p.columns) == 1
    dec = decimals if (decimals is not None or fmt == "csv") else 1
    name, mean, vals = ("BoundaryIoU", "mBoundaryIoU", p.biou) if metric == "mBoundaryIoU" else ("IoU", "mIoU", p.iou)
    m = {c: (f" {p.marks[c]}" if p.marks.get(c) else "") for c in p.columns}
    if single:
        c = p.columns[0]
        head = ["class", f"{name} ({c}{m[c]})", f"Acc ({c}{m[c]})"]
        body = [[n, vals.get((c, n)), p.acc.get((c, n))] for n in p.classes]
        foot = ["mean", p.summary[c].get(mean), p.summary[c].get("mAcc")]
    else:
        head = ["class"] + [f"{name} ({c}{m[c]})" for c in p.columns]
        body = [[n] + [vals.get((c, n)) for c in p.columns] for n in p.classes]
        foot = ["mean"] + [p.summary[c].get(mean) for c in p.columns]
    rows = body + [foot]
    title = f"{p.dataset} at {p.resolution}: per-class {'Boundary IoU' if name == 'BoundaryIoU' else 'IoU'} (%)"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(head)
        for r in rows:
            w.writerow([r[0]] + [_fmt(v, dec) for v in r[1:]])
        return buf.getvalue()
    if fmt == "latex":
        lines = [f"% {title}. Needs \\usepackage{{booktabs}}.",
                 f"\\begin{{tabular}}{{l{'c' * (len(head) - 1)}}}", "\\toprule",
                 " & ".join(latex_escape(h) for h in head) + " \\\\", "\\midrule"]
        for i, r in enumerate(rows):
            if i == len(rows) - 1:
                lines.append("\\midrule")
            lines.append(" & ".join([latex_escape(str(r[0]))] +
                                    [_fmt(v, dec) or "--" for v in r[1:]]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    if fmt != "md":
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |",
             "|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in rows:
        lines.append("| " + " | ".join([str(r[0])] + [_fmt(v, dec) or MISSING for v in r[1:]]) + " |")
    return "\n".join(lines) + "\n" + "".join(f"\n{n}\n" for n in p.legend)

