"""The complete result records under a folder, one :class:`Entry` per record, and their
row labels (pure Python: no torch, no mmseg).

* :func:`find_records` collects the complete ``result.json`` records under a folder
  (incomplete ones with the reason); :func:`filter_entries` narrows them;
* :func:`newest_per_cell` keeps the newest per (row, resolution, dataset);
* :func:`row_label`: ``c-radio_v3-b`` / ``c-radio_v3-b + SAM``, with any non-default
  setting in the label.

:mod:`.table` lays the entries out as the paper's table.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..config import RADSegConfig
from .records import RECORD_SCHEMA, SUMMARY_KEYS, PathLike, load_record

#: the reference's adaptor on C-RADIOv3 (other versions: :func:`default_lang_model`)
DEFAULT_LANG_MODEL = "siglip2"
#: s_ra and s_ga as RADSegConfig sets them
DEFAULT_SCALING = RADSegConfig.scra_scaling


def default_lang_model(model_version: str) -> str:
    """The version's own language adaptor (siglip2 on C-RADIOv3, siglip2-g on v4)."""
    try:
        from ..models.versions import resolve_lang_model  # imports torch: only when labelling rows
        return resolve_lang_model(model_version, None)
    except Exception:  # an unknown or unloadable version: the reference's
        return DEFAULT_LANG_MODEL


def model_name(rec: dict) -> str:
    """The model as the table shows it (a checkpoint path shows its file name)."""
    m = str(rec.get("model_version") or ((rec.get("settings") or {}).get("model") or {})
            .get("model_version") or "?")
    if "/" in m or m.endswith((".pth", ".pt", ".tar")):
        m = os.path.basename(m)
    return m


def row_label(rec: dict) -> str:
    """``<model>[ (lang, s_ra, s_ga when not the defaults, --cfg-options overrides)][ + SAM]``;
    a baseline's record (``method`` other than radseg) is ``<method>: <model>[ (...)][ + SAM]``."""
    method = str(rec.get("method") or "radseg")
    if method != "radseg":
        return _baseline_row_label(method, rec)
    label = model_name(rec)
    extras = []
    lang = rec.get("lang_model")
    if lang and lang != default_lang_model(rec.get("model_version")):
        extras.append(str(lang))
    for key, short in (("scra_scaling", "s_ra"), ("scga_scaling", "s_ga")):
        try:
            v = float(rec.get(key))
        except (TypeError, ValueError):
            continue
        if not math.isclose(v, RADSegConfig.defaults()[key]):
            extras.append(f"{short}={v:g}")
    # --cfg-options overrides change the numbers: they are part of the row's identity
    extras += [o for o in (rec.get("cfg_options") or []) if not o.startswith("test_dataloader.num_workers")]
    if (rec.get("label_ignore") or {}).get("setting") == "65535":  # ADE-847 / PC-459, not the literature's metric
        extras.append("ignore 65535")
    if extras:
        label += f" ({', '.join(extras)})"
    if rec.get("sam_refine"):
        label += " + SAM"
    return label


def _baseline_row_label(method: str, rec: dict) -> str:
    """A baseline's row: its method and CLIP model; --cfg-options overrides and SAM as for RADSeg."""
    model = str(rec.get("model_version") or "?")  # "ViT-B/16" is a name, not a path
    if model.endswith((".pth", ".pt", ".tar", ".bin", ".safetensors")):
        model = os.path.basename(model)
    label = f"{method}: {model}"
    extras = [o for o in (rec.get("cfg_options") or []) if not o.startswith("test_dataloader.num_workers")]
    if extras:
        label += f" ({', '.join(extras)})"
    return label + (" + SAM" if rec.get("sam_refine") else "")


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


def record_problem(rec: Any) -> Optional[str]:
    """Why a parsed record cannot go into a table (``None`` if it can).

    Checks the JSON type of everything the tables read: an object at the top, schema and
    status, finite numbers for aAcc/mIoU/mAcc, strings for the names, a boolean
    ``sam_refine``, numbers for the scalings, a list of strings for ``cfg_options`` and
    ``{"IoU": number|null, "Acc": number|null}`` (and ``"BoundaryIoU"``) per class.
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
            for key in ("IoU", "Acc", "BoundaryIoU"):
                x = (v or {}).get(key)
                if x is not None and not _is_number(x):
                    return f"'per_class.{name}.{key}' is {json_repr(x)}, not a number"
    return None


def json_repr(v: Any, limit: int = 40) -> str:
    """A short JSON rendering of ``v`` for messages."""
    import json
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def find_records(root: PathLike, reasons: Optional[Dict[Path, str]] = None) -> Tuple[List[Entry], List[Path]]:
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


def filter_entries(entries: Sequence[Entry], datasets: Optional[Iterable[str]] = None,
                   resolutions: Optional[Iterable[str]] = None, models: Optional[Iterable[str]] = None,
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
