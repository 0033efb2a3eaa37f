"""The ``radseg bench --json`` file as the report reads it (pure Python: no torch).

Two layouts are read:

* the per-method layout (``radseg bench --methods ...``)::

    {"machine": str, "device": str, "random_weights": bool,
     "rows": [{"method": str, "preset": str, "ms_median": float, "ms_iqr": float,
               "params": {"total": int, ...}, "flops": {...}, "peak_mem_mib": float|null,
               "ratio_to_radseg": {...}, "notes": [str]}, ...]}

* the RADSeg-only layout (``{"meta": {...}, "results": [...]}``): each exact-mode torch row of
  the smallest batch becomes a row of method ``radseg`` (refinement off) or ``radseg+`` (on), its
  ``ms_per_image`` the time; no parameter counts.

A preset is a ``radseg bench`` preset (``voc_mid``, ``ade20k_high``, ...) or
``<dataset>_<low|mid|high|own>`` with a dataset key of :mod:`radseg.presets`; a row may also name
its ``dataset`` and ``resolution`` itself. Anything else in the file is kept out of the figure with
a note, never guessed.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import RADSegError

#: the bench's short dataset names (radseg/bench/core.py ``_IMAGE_SIZES``) -> dataset keys
BENCH_DATASETS = {"voc": "voc20", "context": "context59", "coco_stuff": "coco_stuff164k",
                  "cityscapes": "cityscapes", "ade20k": "ade20k"}
RESOLUTION_SUFFIXES = ("low", "mid", "high", "own")


class BenchFileError(RADSegError):
    """A ``--bench`` file that is missing, not JSON, or in no layout the report knows."""


#: the label of a ``radseg bench --methods --protocol own`` row's preset (``voc_mid (own)``)
OWN_SUFFIX = " (own)"


@dataclass
class BenchRow:
    """One method at one preset: the median (and IQR) of ms per image, the parameter count."""
    method: str  # radseg | radseg+ | naclip | trident | ...
    preset: str
    dataset: Optional[str]
    resolution: Optional[str]  # low_res | mid_res | high_res | own
    ms: float
    ms_iqr: Optional[float] = None
    params: Optional[int] = None
    valid: bool = True  # False: the bench flagged the measurement (ratio to the backbone limit below 1)
    notes: List[str] = field(default_factory=list)


@dataclass
class BenchFile:
    path: str
    machine: str
    device: str
    random_weights: bool
    small: bool  # ``radseg bench --small``: a harness check, not a speed figure
    rows: List[BenchRow]
    notes: List[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        """The machine and device as one phrase (``"CPU x86_64 (2 threads) on host"``)."""
        parts = [p for p in (self.device, self.machine) if p and p != "?"]
        return " on ".join(dict.fromkeys(parts)) or "an unnamed machine"


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def preset_dataset(preset: str) -> Tuple[Optional[str], Optional[str]]:
    """``(dataset key, resolution)`` of a bench preset name, ``(None, None)`` when it names none."""
    from ..presets import DATASETS
    head, _, res = str(preset).rpartition("_")
    if res not in RESOLUTION_SUFFIXES or not head:
        return None, None
    ds = BENCH_DATASETS.get(head, head)
    if ds not in DATASETS:
        return None, None
    return ds, res if res == "own" else f"{res}_res"


def _row_place(row: dict, preset: str) -> Tuple[Optional[str], Optional[str]]:
    ds, res = row.get("dataset"), row.get("resolution")
    if isinstance(ds, str) and isinstance(res, str):
        return ds, res
    return preset_dataset(preset)


def _method_rows(d: dict, notes: List[str]) -> List[BenchRow]:
    rows = []
    for i, r in enumerate(d.get("rows") or []):
        if not isinstance(r, dict):
            notes.append(f"bench row {i} is not an object: left out")
            continue
        method, preset, ms = r.get("method"), r.get("preset"), _num(r.get("ms_median"))
        if not isinstance(method, str) or not isinstance(preset, str) or ms is None or ms <= 0:
            notes.append(f"bench row {i} ({method} {preset}) has no method, preset or positive ms_median: left out")
            continue
        params = (r.get("params") or {}).get("total") if isinstance(r.get("params"), dict) else None
        ds, res = _row_place(r, preset)
        if r.get("protocol") == "own":  # a baseline with its release's settings: its own-protocol mIoU
            res, preset = "own", preset + OWN_SUFFIX
        row_notes = [str(n) for n in (r.get("notes") or []) if isinstance(n, str)]
        rows.append(BenchRow(method.lower(), preset, ds, res, ms, _num(r.get("ms_iqr")),
                             int(params) if _num(params) else None,
                             valid=r.get("measurement_valid", True) is not False, notes=row_notes))
    return rows


def _radseg_rows(d: dict, notes: List[str]) -> List[BenchRow]:
    """Today's RADSeg-only layout: exact mode, torch backend, the smallest batch of each case."""
    results = [r for r in d.get("results") or [] if isinstance(r, dict)]
    exact = [r for r in results if r.get("mode", "exact") == "exact" and r.get("backend", "torch") == "torch"]
    if results and not exact:
        notes.append("the bench file has no exact-mode torch rows (fast mode is not the reference's): nothing to plot")
    best: Dict[Tuple[str, bool], dict] = {}
    for r in exact:
        key = (str(r.get("preset")), bool(r.get("refine")))
        if key not in best or int(r.get("batch", 1)) < int(best[key].get("batch", 1)):
            best[key] = r
    rows = []
    for (preset, refine), r in best.items():
        ms = _num(r.get("ms_per_image"))
        if ms is None:
            lat, b = _num((r.get("latency_ms") or {}).get("median")), _num(r.get("batch")) or 1.0
            ms = lat / b if lat is not None else None
        if ms is None or ms <= 0:
            notes.append(f"bench case {preset} (refine {'on' if refine else 'off'}) has no time: left out")
            continue
        ds, res = _row_place(r, preset)
        row_notes = [str(r["note"])] if r.get("note") else []
        valid = r.get("measurement_valid", True) is not False
        if not valid:
            row_notes.append(str(r.get("invalid_reason") or "invalid measurement"))
        rows.append(BenchRow("radseg+" if refine else "radseg", preset, ds, res, ms, None, None, valid, row_notes))
    return rows


def _is_random_model(name: Any) -> bool:
    return isinstance(name, str) and ("random" in name)


def load_bench(path) -> BenchFile:
    """Read a ``radseg bench --json`` file (either layout, see the module doc)."""
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        raise BenchFileError(f"--bench '{p}' does not exist. Write it with `radseg bench --json {p}`.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BenchFileError(f"--bench '{p}' cannot be read: {getattr(e, 'strerror', None) or e}.") from None
    except json.JSONDecodeError as e:
        raise BenchFileError(f"--bench '{p}' is not JSON (line {e.lineno}: {e.msg}).") from None
    notes: List[str] = []
    if isinstance(d, dict) and isinstance(d.get("rows"), list):
        rows = _method_rows(d, notes)
        machine, device = str(d.get("machine") or "?"), str(d.get("device") or "?")
        rw = d.get("random_weights")
        random_weights = bool(rw) if isinstance(rw, bool) else True  # unknown: say so rather than claim real weights
        small = bool(d.get("small"))
    elif isinstance(d, dict) and isinstance(d.get("results"), list) and isinstance(d.get("meta"), dict):
        meta = d["meta"]
        rows = _radseg_rows(d, notes)
        machine = str(meta.get("machine") or meta.get("host") or "?")
        device = str(meta.get("device") or "?")
        random_weights = _is_random_model(meta.get("model_version")) or bool(meta.get("small"))
        small = bool(meta.get("small"))
    else:
        raise BenchFileError(f"--bench '{p}' is not a `radseg bench --json` file (no 'rows', nor 'meta' and "
                             f"'results').")
    for r in rows:
        if r.dataset is None:
            notes.append(f"bench preset '{r.preset}' ({r.method}) names no dataset of the records: no mIoU for it")
    return BenchFile(str(p), machine, device, random_weights, small, rows, notes)
