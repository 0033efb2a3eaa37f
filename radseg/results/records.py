"""One JSON record per evaluation run, written atomically; never overwritten.

Layout in a run's work dir::

    result.json                      the latest complete record (replaced atomically)
    results/<stamp>_<name>.json      every record ever written there (kept)
    results/<stamp>_<name>.txt       its human-readable summary
    results.jsonl                    one line per record (appended)

A record is *complete* when it parses, has ``schema == RECORD_SCHEMA``,
``status == "complete"`` and finite summary metrics (aAcc, mIoU, mAcc).
:func:`write_run_record` refuses a record whose summary metrics are missing or
not finite (NaN, inf): such a run measured nothing and is an error, never a
complete record.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

RECORD_SCHEMA = "radseg.result/1"
SUMMARY_KEYS = ("aAcc", "mIoU", "mAcc")
PathLike = Union[str, "os.PathLike[str]"]


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _clean(obj):
    """JSON-safe: NaN/inf -> None, tuples -> lists, unknown objects -> str."""
    if isinstance(obj, float):
        return None if (math.isnan(obj) or math.isinf(obj)) else obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    try:
        return _clean(float(obj))  # numpy scalars
    except (TypeError, ValueError):
        return str(obj)


def format_summary(record: Dict[str, Any]) -> str:
    """A short text summary: settings line, aAcc/mIoU/mAcc, per-class IoU table."""
    m = record.get("metrics", {})
    lines = [
        f"benchmark: {record.get('benchmark')}  resolution: {record.get('resolution')}  "
        f"config: {record.get('config')}",
        f"model: {record.get('model_version')} ({record.get('lang_model')}, "
        f"{record.get('model_source')} @ {record.get('model_revision')})  "
        f"SAM refinement: {'on' if record.get('sam_refine') else 'off'}",
        f"aAcc: {m.get('aAcc')}  mIoU: {m.get('mIoU')}  mAcc: {m.get('mAcc')}"
        + (f"  mBoundaryIoU: {m.get('mBoundaryIoU')}" if "mBoundaryIoU" in m else "") + "  (%)",
        f"images: {record.get('subset') or record.get('num_images')}  test time: {record.get('test_time_s')} s  "
        f"images/s: {record.get('images_per_s')}  device: {record.get('device')}",
        "",
        f"{'class':<28} {'IoU %':>7} {'Acc %':>7}",
    ]
    if record.get("weights") == "random stand-in":
        lines.insert(2, f"weights: random stand-in ({', '.join(record.get('random_weights') or [])}): not a "
                        f"model's result")
    if record.get("subset"):
        lines.insert(2, f"subset: {record['subset']} of the benchmark's split (not a full-benchmark number)")
    for name, v in (record.get("per_class") or {}).items():
        iou = "nan" if v.get("IoU") is None else f"{v['IoU']:.2f}"
        acc = "nan" if v.get("Acc") is None else f"{v['Acc']:.2f}"
        lines.append(f"{name:<28} {iou:>7} {acc:>7}")
    return "\n".join(lines) + "\n"


def nonfinite_metrics(metrics: Any) -> Dict[str, Any]:
    """``{key: value}`` of the summary metrics (:data:`SUMMARY_KEYS`) that are missing or not finite."""
    metrics = metrics if isinstance(metrics, dict) else {}
    bad = {}
    for k in SUMMARY_KEYS:
        v = metrics.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            bad[k] = v
    return bad


def write_run_record(work_dir: PathLike, record: Dict[str, Any], stamp: str, name: str) -> Path:
    """Write a complete record (see module doc). Returns the kept ``results/*.json`` path.

    Raises :class:`radseg.errors.RADSegError` (nothing written) when a summary metric is
    missing or not finite.
    """
    bad = nonfinite_metrics(record.get("metrics"))
    if bad:
        from ..errors import RADSegError
        raise RADSegError(
            f"the run produced no valid score ({', '.join(f'{k}={v}' for k, v in bad.items())}); no result "
            f"record written. Usually no label pixel was scored (every label value is 255 = ignore, or the "
            f"labels are the wrong files): check the data with `radseg data verify`.")
    work_dir = Path(work_dir)
    record = _clean(dict(record, schema=RECORD_SCHEMA, status="complete"))
    text = json.dumps(record, indent=2, sort_keys=False) + "\n"
    kept = work_dir / "results" / f"{stamp}_{name}.json"
    atomic_write_text(kept, text)
    atomic_write_text(kept.with_suffix(".txt"), format_summary(record))
    with open(work_dir / "results.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=False) + "\n")
    atomic_write_text(work_dir / "result.json", text)
    return kept


def load_record(path: PathLike) -> Optional[Dict[str, Any]]:
    """The record at ``path``, or ``None`` if missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_complete_record(path: PathLike) -> bool:
    """True when the record at ``path`` is complete: schema, status and finite summary metrics."""
    rec = load_record(path)
    return isinstance(rec, dict) and rec.get("schema") == RECORD_SCHEMA and rec.get("status") == "complete" \
        and not nonfinite_metrics(rec.get("metrics"))
