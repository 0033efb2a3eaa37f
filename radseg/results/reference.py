"""Reported numbers to compare against (``radseg results --reference FILE``).

Two formats, both keyed by the table's row labels (``<model>`` or ``<model> + SAM``,
see :func:`radseg.results.table.row_label`), resolutions and datasets.

YAML (``docs/reference_results_example.yaml``)::

    metric: mIoU                  # optional; must match --metric when given
    rows:
      c-radio_v3-b:
        low_res: {voc20: 80.0, ade20k: 30.0, avg: 55.0}   # avg is optional
      c-radio_v3-b + SAM:
        mid_res: {voc20: 81.0}

CSV, one row per table row, columns ``<resolution>/<dataset>``; empty = unknown::

    row,low_res/voc20,low_res/ade20k,mid_res/voc20
    c-radio_v3-b,80.0,30.0,
    c-radio_v3-b + SAM,,,81.0

A cell that is not a number is an error naming the file, row and column.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from ..errors import RADSegError
from ..presets import RESOLUTIONS
from .records import PathLike

#: (row label, resolution, dataset or "avg") -> value
Reference = Dict[Tuple[str, str, str], float]

KNOWN_RESOLUTIONS = (*RESOLUTIONS, "own")  # "own": a baseline's own protocol (results/published.py)


class ReferenceFileError(RADSegError):
    """The reference file is missing or malformed."""


def _number(value: Any, where: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ReferenceFileError(f"{where}: {value!r} is not a number.")
    if isinstance(value, (int, float)):
        v = float(value)
    else:
        s = str(value).strip()
        if s in ("", "-", "–", "n/a", "NA", "null"):
            return None
        try:
            v = float(s)
        except ValueError:
            raise ReferenceFileError(f"{where}: '{s}' is not a number.") from None
    if math.isnan(v) or math.isinf(v):
        raise ReferenceFileError(f"{where}: {value!r} is not a finite number.")
    return v


def _check_resolution(res: str, where: str) -> str:
    res = str(res).strip()
    if res not in KNOWN_RESOLUTIONS:
        raise ReferenceFileError(f"{where}: unknown resolution '{res}' "
                                 f"(use {', '.join(KNOWN_RESOLUTIONS)}).")
    return res


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; a binary or non-UTF-8 file is a :class:`ReferenceFileError`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ReferenceFileError(f"cannot read reference file '{path}' ({e.strerror or e}).") from None
    hint = "give a YAML or CSV text file (see docs/reference_results_example.yaml)"
    if b"\x00" in data:
        raise ReferenceFileError(f"reference file '{path}' is a binary file, not text: {hint}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ReferenceFileError(f"reference file '{path}': line {line} is not UTF-8 text; {hint}.") from None
    return text[1:] if text.startswith("\ufeff") else text


def _load_yaml(path: Path) -> Tuple[Reference, Optional[str]]:
    import yaml
    try:
        data = yaml.safe_load(_read_text(path))
    except yaml.YAMLError as e:
        raise ReferenceFileError(f"reference file '{path}' is not valid YAML: "
                                 f"{str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ReferenceFileError(f"reference file '{path}': expected a mapping with 'rows:' "
                                 f"(see docs/reference_results_example.yaml).")
    metric = data.get("metric")
    if metric is not None and not isinstance(metric, str):
        raise ReferenceFileError(f"reference file '{path}': 'metric' must be a name such as mIoU.")
    rows = data.get("rows", {k: v for k, v in data.items() if k != "metric"})
    if not isinstance(rows, dict):
        raise ReferenceFileError(f"reference file '{path}': 'rows' must map row labels to "
                                 f"resolutions.")
    ref: Reference = {}
    for row, by_res in rows.items():
        if not isinstance(by_res, dict):
            raise ReferenceFileError(f"reference file '{path}', row '{row}': expected "
                                     f"'<resolution>: {{<dataset>: value}}'.")
        for res, by_ds in by_res.items():
            res = _check_resolution(res, f"reference file '{path}', row '{row}'")
            if not isinstance(by_ds, dict):
                raise ReferenceFileError(f"reference file '{path}', row '{row}', column '{res}': "
                                         f"expected '{{<dataset>: value}}'.")
            for ds, val in by_ds.items():
                where = f"reference file '{path}', row '{row}', column '{res}/{ds}'"
                v = _number(val, where)
                if v is not None:
                    ref[(str(row), res, str(ds))] = v
    return ref, (str(metric) if metric else None)


def _load_csv(path: Path) -> Tuple[Reference, Optional[str]]:
    import io
    ref: Reference = {}
    try:
        rows = [r for r in csv.reader(io.StringIO(_read_text(path), newline=""))]
    except csv.Error as e:
        raise ReferenceFileError(f"reference file '{path}' is not valid CSV ({e}).") from None
    rows = [r for r in rows if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise ReferenceFileError(f"reference file '{path}' is empty.")
    header = [c.strip() for c in rows[0]]
    cols = []
    for c in header[1:]:
        if "/" not in c:
            raise ReferenceFileError(f"reference file '{path}', header: column '{c}' is not "
                                     f"'<resolution>/<dataset>' (e.g. low_res/voc20).")
        res, ds = c.split("/", 1)
        cols.append((_check_resolution(res, f"reference file '{path}', header column '{c}'"),
                     ds.strip()))
    for line_no, r in enumerate(rows[1:], start=2):
        label = r[0].strip()
        if len(r) > len(header):
            raise ReferenceFileError(f"reference file '{path}', row '{label}' (line {line_no}): "
                                     f"{len(r)} cells but the header has {len(header)}.")
        for (res, ds), cell in zip(cols, r[1:]):
            where = f"reference file '{path}', row '{label}' (line {line_no}), column '{res}/{ds}'"
            v = _number(cell, where)
            if v is not None:
                ref[(label, res, ds)] = v
    return ref, None


def load_reference(path: PathLike) -> Tuple[Reference, Optional[str]]:
    """Read a reference file (YAML or CSV, by suffix). Returns ``(values, metric or None)``."""
    path = Path(path)
    if path.is_dir():
        raise ReferenceFileError(f"reference file '{path}' is a folder; give a .yaml or .csv file.")
    if not path.is_file():
        raise ReferenceFileError(f"reference file '{path}' does not exist.")
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(path)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _load_csv(path)
    raise ReferenceFileError(f"reference file '{path}': use a .yaml or .csv file "
                             f"(see docs/reference_results_example.yaml).")
