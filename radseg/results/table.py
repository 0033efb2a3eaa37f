"""Paper-style tables from result records (pure Python: no torch, no mmseg).

* :func:`find_records` collects the complete ``result.json`` records under a folder;
  :func:`newest_per_cell` keeps the newest per (row, resolution, dataset).
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
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .records import RECORD_SCHEMA, SUMMARY_KEYS, load_record
from .reference import Reference

RESOLUTION_ORDER = ("low_res", "mid_res", "high_res")
DATASET_ORDER = ("voc20", "context59", "coco_stuff164k", "cityscapes", "ade20k",
                 "voc21", "context60", "coco_object")
DISPLAY = {"voc20": "VOC20", "context59": "Context59", "coco_stuff164k": "COCO-Stuff",
           "cityscapes": "Cityscapes", "ade20k": "ADE20K", "voc21": "VOC21",
           "context60": "Context60", "coco_object": "COCO-Object"}
DEFAULT_LANG_MODEL = "siglip2"
DEFAULT_SCALING = 10.0
METRICS = ("mIoU", "mAcc", "aAcc")
FORMATS = ("md", "csv", "latex")
MISSING = "–"


# -- records -------------------------------------------------------------------------------------

def model_name(rec: dict) -> str:
    """The model as the table shows it (a checkpoint path shows its file name)."""
    m = str(rec.get("model_version") or ((rec.get("settings") or {}).get("model") or {})
            .get("model_version") or "?")
    if "/" in m or m.endswith((".pth", ".pt", ".tar")):
        m = os.path.basename(m)
    return m


def row_label(rec: dict) -> str:
    """``<model>[ (lang, s_ra, s_ga when not the defaults, --cfg-options overrides)][ + SAM]``."""
    label = model_name(rec)
    extras = []
    lang = rec.get("lang_model")
    if lang and lang != DEFAULT_LANG_MODEL:
        extras.append(str(lang))
    for key, short in (("scra_scaling", "s_ra"), ("scga_scaling", "s_ga")):
        try:
            v = float(rec.get(key))
        except (TypeError, ValueError):
            continue
        if not math.isclose(v, DEFAULT_SCALING):
            extras.append(f"{short}={v:g}")
    # --cfg-options overrides change the numbers: they are part of the row's identity
    extras += [o for o in (rec.get("cfg_options") or []) if not o.startswith("test_dataloader.num_workers")]
    if extras:
        label += f" ({', '.join(extras)})"
    if rec.get("sam_refine"):
        label += " + SAM"
    return label


def _row_sort_key(label: str) -> Tuple[str, int]:
    base = label[:-len(" + SAM")] if label.endswith(" + SAM") else label
    return base, int(label.endswith(" + SAM"))


def _order(items: Iterable[str], order: Sequence[str]) -> List[str]:
    items = set(items)
    return [x for x in order if x in items] + sorted(x for x in items if x not in order)


@dataclass
class Entry:
    path: Path
    record: dict

    @property
    def row(self) -> str:
        return row_label(self.record)

    @property
    def resolution(self) -> str:
        return str(self.record.get("resolution") or "?")

    @property
    def dataset(self) -> str:
        return str(self.record.get("benchmark") or "?")

    @property
    def key(self) -> Tuple[str, str, str]:
        return self.row, self.resolution, self.dataset

    @property
    def time(self) -> float:
        try:
            return time.mktime(time.strptime(self.record.get("finished_at", ""), "%Y-%m-%dT%H:%M:%S%z"))
        except (TypeError, ValueError):
            try:
                return self.path.stat().st_mtime
            except OSError:
                return 0.0


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def record_problem(rec) -> Optional[str]:
    """Why a parsed record cannot go into a table (``None`` if it can).

    Checks the JSON type of everything the tables read: an object at the top, schema and
    status, finite numbers for aAcc/mIoU/mAcc, strings for the names, a boolean
    ``sam_refine``, numbers for the scalings, a list of strings for ``cfg_options`` and
    ``{"IoU": number|null, "Acc": number|null}`` per class.
    """
    if not isinstance(rec, dict):
        return f"it holds a JSON {type(rec).__name__ if rec is not None else 'null'}, not a record object"
    if rec.get("schema") != RECORD_SCHEMA or rec.get("status") != "complete":
        return "incomplete"
    metrics = rec.get("metrics")
    if not isinstance(metrics, dict):
        return f"'metrics' is a {type(metrics).__name__}, not an object"
    for k in SUMMARY_KEYS:
        if not _is_number(metrics.get(k)):
            return f"'metrics.{k}' is {json_repr(metrics.get(k))}, not a finite number"
    for k in ("benchmark", "resolution", "model_version", "lang_model", "finished_at"):
        if rec.get(k) is not None and not isinstance(rec.get(k), str):
            return f"'{k}' is {json_repr(rec.get(k))}, not a string"
    if rec.get("sam_refine") is not None and not isinstance(rec.get("sam_refine"), bool):
        return f"'sam_refine' is {json_repr(rec.get('sam_refine'))}, not true/false"
    for k in ("scra_scaling", "scga_scaling"):
        if rec.get(k) is not None and not _is_number(rec.get(k)):
            return f"'{k}' is {json_repr(rec.get(k))}, not a number"
    opts = rec.get("cfg_options")
    if opts is not None and not (isinstance(opts, list) and all(isinstance(o, str) for o in opts)):
        return f"'cfg_options' is {json_repr(opts)}, not a list of strings"
    if rec.get("settings") is not None and not isinstance(rec.get("settings"), dict):
        return f"'settings' is {json_repr(rec.get('settings'))}, not an object"
    per_class = rec.get("per_class")
    if per_class is not None:
        if not isinstance(per_class, dict):
            return f"'per_class' is a {type(per_class).__name__}, not an object"
        for name, v in per_class.items():
            if v is not None and not isinstance(v, dict):
                return f"'per_class.{name}' is {json_repr(v)}, not an object"
            for key in ("IoU", "Acc"):
                x = (v or {}).get(key)
                if x is not None and not _is_number(x):
                    return f"'per_class.{name}.{key}' is {json_repr(x)}, not a number"
    return None


def json_repr(v, limit: int = 40) -> str:
    """A short JSON rendering of ``v`` for messages."""
    import json
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def find_records(root, reasons: Optional[Dict[Path, str]] = None) -> Tuple[List[Entry], List[Path]]:
    """All ``result.json`` under ``root`` (or ``root`` itself when it is a record file):
    ``(complete records, paths of incomplete/unreadable/malformed ones)``.

    ``reasons``, if given, receives ``{path: why it was skipped}`` (see :func:`record_problem`).
    """
    root = Path(root)
    paths = [root] if root.is_file() else sorted(
        Path(d) / "result.json" for d, _, files in os.walk(root) if "result.json" in files)
    good, bad = [], []
    for p in paths:
        rec = load_record(p)
        problem = "incomplete: not valid JSON" if rec is None else record_problem(rec)
        if problem is None:
            good.append(Entry(p, rec))
        else:
            bad.append(p)
            if reasons is not None:
                reasons[p] = problem
    return good, bad


def filter_entries(entries: Sequence[Entry], datasets=None, resolutions=None, models=None,
                   refine: Optional[bool] = None) -> List[Entry]:
    out = []
    for e in entries:
        if datasets and e.dataset not in datasets:
            continue
        if resolutions and e.resolution not in resolutions:
            continue
        if models and model_name(e.record) not in models and e.record.get("model_version") not in models:
            continue
        if refine is not None and bool(e.record.get("sam_refine")) != refine:
            continue
        out.append(e)
    return out


def newest_per_cell(entries: Sequence[Entry]) -> Dict[Tuple[str, str, str], Entry]:
    cells: Dict[Tuple[str, str, str], Entry] = {}
    for e in entries:
        old = cells.get(e.key)
        if old is None or (e.time, str(e.path)) > (old.time, str(old.path)):
            cells[e.key] = e
    return cells


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
        cells = [row] + [_cell_text(t, row, res, ds, decimals) for res, ds in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n_{_legend(t)}_\n"


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
    for row in t.rows:
        cells = [latex_escape(row)] + [_cell_text(t, row, r, d, decimals, latex=True) for r, d in t.columns()]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
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


def build_per_class(entries: Sequence[Entry]) -> PerClass:
    """Per-class IoU of one (dataset, resolution); one column per model x refinement."""
    cells = newest_per_cell(entries)
    pairs = sorted({(k[1], k[2]) for k in cells})
    if len(pairs) != 1:
        raise ValueError(", ".join(f"{r}/{d}" for r, d in pairs))
    res, ds = pairs[0]
    cols = sorted({k[0] for k in cells}, key=_row_sort_key)
    classes: List[str] = []
    iou, acc, summary, paths = {}, {}, {}, {}
    for col in cols:
        e = cells[(col, res, ds)]
        paths[col] = e.path
        summary[col] = dict(e.record.get("metrics") or {})
        for name, v in (e.record.get("per_class") or {}).items():
            if name not in classes:
                classes.append(name)
            iou[(col, name)] = (v or {}).get("IoU")
            acc[(col, name)] = (v or {}).get("Acc")
    return PerClass(ds, res, cols, classes, iou, acc, summary, paths)


def render_per_class(p: PerClass, fmt: str = "md", decimals: Optional[int] = None) -> str:
    """Classes as rows; IoU per column (and Acc too when there is one column). Last row:
    the record's mIoU (and mAcc)."""
    single = len(p.columns) == 1
    dec = decimals if (decimals is not None or fmt == "csv") else 1
    if single:
        c = p.columns[0]
        head = ["class", f"IoU ({c})", f"Acc ({c})"]
        body = [[n, p.iou.get((c, n)), p.acc.get((c, n))] for n in p.classes]
        foot = ["mean", p.summary[c].get("mIoU"), p.summary[c].get("mAcc")]
    else:
        head = ["class"] + [f"IoU ({c})" for c in p.columns]
        body = [[n] + [p.iou.get((c, n)) for c in p.columns] for n in p.classes]
        foot = ["mean"] + [p.summary[c].get("mIoU") for c in p.columns]
    rows = body + [foot]
    title = f"{p.dataset} at {p.resolution}: per-class IoU (%)"
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
    return "\n".join(lines) + "\n"

