"""Qualitative grids: image | ground truth | prediction | RADSeg+ prediction.

Reads the prediction folders that ``eval.py --save-predictions DIR`` writes::

    DIR/predictions.json   {"dataset": ..., "classes": [...], "palette": [[r, g, b], ...],
                            "items": [{"img_path": ..., "seg_map_path": ... or null,
                                       "pred": "relative/path.png"}, ...]}
    DIR/<pred>             palette ("P") PNG, pixel values = class indices, 255 = ignore

and the run record's ``predictions_dir`` key (DIR). Images are chosen
deterministically: half of them where the RADSeg and RADSeg+ predictions disagree
most (over an evenly spaced subset of at most :data:`MAX_CANDIDATES` items, so a
5000-image benchmark costs no more than a small one), the rest an evenly spaced
fixed sample of the sorted image list. Thumbnails are PNGs (numpy + Pillow).
"""
from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..results.table import DISPLAY, RESOLUTION_ORDER, Entry, newest_per_cell
from ..visualize import palette as default_palette

#: at most this many items per dataset are read to rank disagreement
MAX_CANDIDATES = 256
#: thumbnails fit in this box (pixels)
THUMB_H, THUMB_W = 160, 240
IGNORE = 255
IGNORE_COLOUR = (0, 0, 0)
#: preferred preset for the grid (the paper's default), then the others
GRID_RESOLUTION_ORDER = ("mid_res", "high_res", "low_res")


@dataclass
class Predictions:
    """One run's saved predictions."""
    folder: Path
    dataset: str
    classes: List[str]
    palette: np.ndarray  # 256 x 3 uint8
    items: Dict[str, dict]  # img_path -> item
    reduce_zero_label: Optional[bool] = None


@dataclass
class Cell:
    kind: str  # "image" | "label" | "missing"
    src: str = ""  # data URI
    note: str = ""


@dataclass
class GridRow:
    name: str
    why: str
    cells: List[Cell]


@dataclass
class Grid:
    dataset: str
    resolution: str
    headers: List[str]
    rows: List[GridRow]
    legend: List[Tuple[str, str]]  # (class name, css colour)
    source: str  # which runs are shown
    notes: List[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return DISPLAY.get(self.dataset, self.dataset)


def predictions_folder(entry: Entry) -> Optional[Path]:
    """The record's ``predictions_dir`` (relative paths: from the record's folder)."""
    d = entry.record.get("predictions_dir")
    if not d:
        return None
    p = Path(str(d)).expanduser()
    if not p.is_absolute():
        p = entry.path.parent / p
    return p


def load_predictions(folder: Path) -> Predictions:
    """Read ``folder/predictions.json``; raises ``OSError``/``ValueError`` when unusable."""
    data = json.loads((folder / "predictions.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError("no 'items' list")
    classes = [str(c) for c in data.get("classes") or []]
    pal = np.zeros((256, 3), np.uint8)
    pal[:max(len(classes), 1)] = default_palette(max(len(classes), 1))
    for i, c in enumerate((data.get("palette") or [])[:255]):
        try:
            pal[i] = [int(x) for x in c][:3]
        except (TypeError, ValueError):
            pass
    pal[IGNORE] = IGNORE_COLOUR
    items = {}
    for it in data["items"]:
        if isinstance(it, dict) and it.get("img_path") and it.get("pred"):
            items[str(it["img_path"])] = it
    rzl = data.get("reduce_zero_label")
    return Predictions(folder, str(data.get("dataset") or ""), classes, pal, items,
                       None if rzl is None else bool(rzl))


def _reduce_zero_label(entry: Entry, preds: Predictions) -> bool:
    """How the ground truth on disk maps to class indices (mmseg's ``reduce_zero_label``)."""
    if preds.reduce_zero_label is not None:
        return preds.reduce_zero_label
    ds = ((entry.record.get("settings") or {}).get("test_dataloader") or {}).get("dataset") or {}
    if isinstance(ds, dict) and "reduce_zero_label" in ds:
        return bool(ds["reduce_zero_label"])
    from ..data.benchmarks import BENCHMARKS
    b = BENCHMARKS.get(entry.dataset) or BENCHMARKS.get(preds.dataset)
    return bool(b and b.reduce_zero_label)


def _read_labels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        if im.mode not in ("P", "L", "I", "I;16"):
            im = im.convert("L")
        return np.asarray(im).astype(np.int64)


def _pred(preds: Predictions, img: str) -> Optional[np.ndarray]:
    try:
        return _read_labels(preds.folder / preds.items[img]["pred"])
    except (OSError, KeyError, ValueError):
        return None


def _disagreement(a: Optional[np.ndarray], b: Optional[np.ndarray]) -> float:
    if a is None or b is None or a.shape != b.shape:
        return -1.0
    valid = (a != IGNORE) | (b != IGNORE)
    n = int(valid.sum())
    return float(((a != b) & valid).sum()) / n if n else 0.0


def evenly_spaced(n_total: int, k: int) -> List[int]:
    """``k`` distinct indices spread over ``range(n_total)`` (deterministic)."""
    k = min(k, n_total)
    return [int(i * n_total / k + n_total / (2 * k)) for i in range(k)] if k else []


def select_images(names: Sequence[str], a: Optional[Predictions], b: Optional[Predictions],
                  n: int) -> List[Tuple[str, str]]:
    """``[(img_path, why), ...]``: the largest disagreements between ``a`` and ``b`` first
    (``ceil(n / 2)`` of them, when both are given), then a fixed evenly spaced sample."""
    names = sorted(names)
    chosen: List[Tuple[str, str]] = []
    if a is not None and b is not None and n > 0:
        cands = [names[i] for i in evenly_spaced(len(names), MAX_CANDIDATES)]
        scored = [(_disagreement(_pred(a, x), _pred(b, x)), x) for x in cands]
        scored = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
        for score, x in scored[:math.ceil(n / 2)]:
            chosen.append((x, f"largest disagreement ({100 * score:.1f}% of pixels)"))
    taken = {x for x, _ in chosen}
    rest = [x for x in names if x not in taken]
    for i in evenly_spaced(len(rest), n - len(chosen)):
        chosen.append((rest[i], "fixed sample"))
    return chosen


def _data_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _thumb_size(h: int, w: int) -> Tuple[int, int]:
    s = min(THUMB_H / h, THUMB_W / w)
    return max(1, round(w * s)), max(1, round(h * s))


def _label_cell(labels: Optional[np.ndarray], pal: np.ndarray, size: Tuple[int, int],
                used: set, note: str = "") -> Cell:
    if labels is None:
        return Cell("missing", note=note or "not found")
    lab = np.where((labels < 0) | (labels > 255), IGNORE, labels).astype(np.uint8)
    used.update(int(v) for v in np.unique(lab))
    rgb = pal[lab]
    im = Image.fromarray(rgb, "RGB").resize(size, Image.NEAREST)
    return Cell("label", _data_uri(im), note)


def _accuracy(pred: Optional[np.ndarray], gt: Optional[np.ndarray]) -> str:
    if pred is None or gt is None or pred.shape != gt.shape:
        return ""
    valid = gt != IGNORE
    n = int(valid.sum())
    return f"pixel acc. {100 * float((pred == gt)[valid].sum()) / n:.1f}%" if n else ""


def _pick_runs(entries: Sequence[Entry]) -> Tuple[Optional[Entry], Optional[Entry], str]:
    """``(RADSeg run, RADSeg+ run, resolution)`` with saved predictions for one dataset:
    a pair of the same model at the preferred preset when there is one."""
    cells = newest_per_cell(entries)
    groups: Dict[Tuple[str, str], Dict[bool, Entry]] = {}
    for (row, res, _), e in cells.items():
        folder = predictions_folder(e)
        if folder is None or not (folder / "predictions.json").is_file():
            continue
        base = row[:-len(" + SAM")] if row.endswith(" + SAM") else row
        groups.setdefault((base, res), {})[bool(e.record.get("sam_refine"))] = e
    if not groups:
        return None, None, ""
    order = {r: i for i, r in enumerate(GRID_RESOLUTION_ORDER + RESOLUTION_ORDER)}
    (base, res), pair = min(groups.items(), key=lambda kv: (
        len(kv[1]) != 2, order.get(kv[0][1], 99), kv[0][1], kv[0][0]))
    return pair.get(False), pair.get(True), res


def build_grid(dataset: str, entries: Sequence[Entry], n: int) -> Optional[Grid]:
    """The grid of one dataset from the runs in ``entries`` (``None``: no saved predictions)."""
    off, on, res = _pick_runs(entries)
    if off is None and on is None:
        return None
    notes: List[str] = []
    loaded: Dict[bool, Optional[Predictions]] = {}
    for refine, e in ((False, off), (True, on)):
        loaded[refine] = None
        if e is None:
            continue
        try:
            loaded[refine] = load_predictions(predictions_folder(e))
        except (OSError, ValueError) as err:
            notes.append(f"{predictions_folder(e)}/predictions.json unreadable: {err}")
    a, b = loaded[False], loaded[True]
    if a is None and b is None:
        return Grid(dataset, res, [], [], [], "", notes)
    ref = a or b
    names = set(ref.items)
    if a is not None and b is not None:
        names &= set(b.items)
    chosen = select_images(names, a, b, n)
    rzl = _reduce_zero_label(off or on, ref)
    headers = ["image", "ground truth"]
    if a is not None:
        headers.append(f"prediction ({off.row})")
    if b is not None:
        headers.append(f"RADSeg+ prediction ({on.row})")
    used: set = set()
    rows = []
    for img_path, why in chosen:
        item = ref.items[img_path]
        try:
            with Image.open(img_path) as im:
                rgb = np.asarray(im.convert("RGB"))
        except OSError:
            rgb = None
        pa = _pred(a, img_path) if a is not None else None
        pb = _pred(b, img_path) if b is not None else None
        gt = None
        gt_note = ""
        if item.get("seg_map_path"):
            try:
                gt = _read_labels(Path(item["seg_map_path"]))
                if rzl:
                    gt = np.where(gt == 0, IGNORE, np.where(gt == IGNORE, IGNORE, gt - 1))
            except OSError:
                gt_note = "not found"
        else:
            gt_note = "no ground truth"
        shape = next((x.shape[:2] for x in (rgb, gt, pa, pb) if x is not None), (THUMB_H, THUMB_W))
        size = _thumb_size(*shape)
        cells = [Cell("image", _data_uri(Image.fromarray(rgb).resize(size, Image.BILINEAR)))
                 if rgb is not None else Cell("missing", note="image not found"),
                 _label_cell(gt, ref.palette, size, used, gt_note)]
        if a is not None:
            cells.append(_label_cell(pa, a.palette, size, used, _accuracy(pa, gt)))
        if b is not None:
            cells.append(_label_cell(pb, b.palette, size, used, _accuracy(pb, gt)))
        rows.append(GridRow(Path(img_path).name, why, cells))
    legend = []
    for i in sorted(used):
        if i == IGNORE:
            name = "ignored / unlabelled"
        else:
            name = ref.classes[i] if i < len(ref.classes) else f"class {i}"
        r, g, bl = (int(x) for x in ref.palette[i])
        legend.append((name, f"rgb({r},{g},{bl})"))
    source = " and ".join(f"{e.row} at {e.resolution}" for e in (off, on) if e is not None)
    return Grid(dataset, res, headers, rows, legend, source, notes)


def build_grids(entries: Sequence[Entry], datasets: Sequence[str], n: int) -> List[Grid]:
    if n <= 0:
        return []
    out = []
    for ds in datasets:
        g = build_grid(ds, [e for e in entries if e.dataset == ds], n)
        if g is not None:
            out.append(g)
    return out
