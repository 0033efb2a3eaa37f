"""MESS's aggregation of the result records (pure Python: no torch, no mmseg, no pandas).

As ``mess/evaluation/mess_evaluation.py`` computes it: the four PAXRay entries are replaced by
**PAXRay-4 = the mean of their values**; **Mean** is the plain mean over the 22 datasets; the
five **domain means** are the means over each domain's datasets (PAXRay-4 counts once). Unlike
MESS's pandas means, which skip missing datasets, a mean here is blank unless all of its
datasets have a record (as the paper table's ``Avg``); a value from fewer images than MESS's
count is marked ``*`` and listed under the table.

The per-dataset values are the records' (mmseg rounds them to 2 decimals; MESS averages its
unrounded detectron2 values, so a mean can differ from MESS's by up to 0.005).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..data.mess import DATASET_DOMAINS, DATASET_TITLES, DOMAINS, MESS_DATASETS, MESS_ENTRIES, PAXRAY_PARTS
from ..dataset_registry import dataset_names, get_dataset, has_dataset
from .collect import Entry, _row_sort_key, newest_per_cell

MEAN = "mean"
MISSING = "–"


def is_mess(entry: Entry) -> bool:
    """A record of one of the 25 MESS entries."""
    return has_dataset(entry.dataset) and get_dataset(entry.dataset).group == "mess"


def _mean(vals: Sequence[Optional[float]]) -> Optional[float]:
    if not vals or any(v is None for v in vals):
        return None
    return sum(vals) / len(vals)


@dataclass
class MessTable:
    """Rows = model x refinement; ``values[(row, entry key)]`` = the record's metric (%)."""

    metric: str
    rows: List[str]
    values: Dict[Tuple[str, str], float]
    entries: Dict[Tuple[str, str], Entry] = field(default_factory=dict)

    def dataset_value(self, row: str, ds: str) -> Optional[float]:
        """One of the 22 datasets; ``paxray`` is PAXRay-4 (None unless all four parts are there)."""
        if ds == "paxray":
            return _mean([self.values.get((row, p)) for p in PAXRAY_PARTS])
        return self.values.get((row, ds))

    def mean(self, row: str) -> Optional[float]:
        """The mean over the 22 datasets (None unless all 22 have a value)."""
        return _mean([self.dataset_value(row, d) for d in MESS_DATASETS])

    def domain_mean(self, row: str, domain: str) -> Optional[float]:
        return _mean([self.dataset_value(row, d) for d in MESS_DATASETS if DATASET_DOMAINS[d] == domain])

    def present(self, row: str) -> int:
        """How many of the 22 datasets have a value."""
        return sum(self.dataset_value(row, d) is not None for d in MESS_DATASETS)

    def subsets(self, row: str) -> Dict[str, Tuple[int, int]]:
        """Entries of ``row`` scored on fewer (or more) images than MESS's count: key -> (n, count)."""
        out = {}
        for k in dataset_names("mess"):
            e = self.entries.get((row, k))
            if e is not None:
                n = e.record.get("num_images")
                count = get_dataset(k).val_count  # MESS's own check's count
                if isinstance(n, int) and n != count:
                    out[k] = (n, count)
        return out

    def columns(self) -> List[str]:
        """The 22 datasets, then the five domains, then ``mean``."""
        return [*MESS_DATASETS, *DOMAINS, MEAN]

    def cell(self, row: str, col: str) -> Optional[float]:
        if col == MEAN:
            return self.mean(row)
        if col in DOMAINS:
            return self.domain_mean(row, col)
        return self.dataset_value(row, col)

    def marked(self, row: str, col: str) -> bool:
        """The cell's value rests on a subset of some entry."""
        sub = self.subsets(row)
        if col == MEAN:
            return bool(sub)
        if col in DOMAINS:
            return any(MESS_ENTRIES[k].domain == col for k in sub)
        return any(MESS_ENTRIES[k].dataset == col for k in sub)


def build_mess_table(entries: Sequence[Entry], metric: str = "mIoU") -> MessTable:
    """The MESS table of the MESS records among ``entries`` (newest record per row and entry)."""
    cells = {(k[0], k[2]): e for k, e in newest_per_cell([e for e in entries if is_mess(e)]).items()}
    rows = sorted({r for r, _ in cells}, key=_row_sort_key)
    values = {}
    for k, e in cells.items():
        v = (e.record.get("metrics") or {}).get(metric)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values[k] = float(v)
    return MessTable(metric, rows, values, cells)


def header(col: str) -> str:
    return "Mean" if col == MEAN else DATASET_TITLES.get(col, col)


def legend(t: MessTable) -> str:
    s = (f"MESS {t.metric} (%), as mess_evaluation.py aggregates: PAXRay-4 = mean of its four parts, "
         f"domain means and Mean over the 22 datasets (blank unless all are there)")
    notes = []
    for row in t.rows:
        sub = t.subsets(row)
        if sub:
            notes.append(f"{row}: " + ", ".join(f"{k} {n}/{c}" for k, (n, c) in sub.items()))
    if notes:
        s += "; * = on a subset (images scored/MESS's count): " + "; ".join(notes)
    return s + "."


def _fmt(v: Optional[float], decimals: Optional[int]) -> str:
    if v is None:
        return ""
    return f"{round(v, 2):g}" if decimals is None else f"{v:.{decimals}f}"


def render_mess(t: MessTable, fmt: str = "md", decimals: Optional[int] = None) -> str:
    """Markdown (rows = models), CSV (plain numbers, 2 decimals unless ``decimals``) or LaTeX."""
    cols = t.columns()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["row", "datasets"] + [f"mess/{c}" for c in cols])
        for row in t.rows:
            w.writerow([row, t.present(row)] + [_fmt(t.cell(row, c), 2 if decimals is None else decimals)
                                                for c in cols])
        return buf.getvalue()
    dec = 2 if decimals is None else decimals

    def text(row, c, empty):
        v = t.cell(row, c)
        return empty if v is None else _fmt(v, dec) + ("*" if t.marked(row, c) else "")

    if fmt == "latex":
        from .table import latex_escape
        lines = [f"% {legend(t)} Needs \\usepackage{{booktabs}}.",
                 f"\\begin{{tabular}}{{l{'c' * len(cols)}}}", "\\toprule",
                 "Model & " + " & ".join(latex_escape(header(c)) for c in cols) + " \\\\", "\\midrule"]
        lines += [" & ".join([latex_escape(row)] + [latex_escape(text(row, c, "--")) for c in cols]) + " \\\\"
                  for row in t.rows]
        return "\n".join(lines + ["\\bottomrule", "\\end{tabular}"]) + "\n"
    if fmt != "md":
        raise ValueError("format must be one of md, csv, latex")
    lines = ["| Model | " + " | ".join(header(c) for c in cols) + " |",
             "|" + "|".join([":---"] + ["---:"] * len(cols)) + "|"]
    lines += ["| " + " | ".join([row] + [text(row, c, MISSING) for c in cols]) + " |" for row in t.rows]
    return "\n".join(lines) + f"\n\n_{legend(t)}_\n"
