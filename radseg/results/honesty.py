"""What a result must say about itself: random stand-in weights, and a subset of a benchmark.

One rule each, used by eval.py (start line and record), ``radseg results`` and ``radseg
report`` (pure Python: no torch, no mmseg):

* **random weights**: the record's ``weights`` field (``"random stand-in"``), which eval.py
  derives from the model sources' own declarations
  (:func:`radseg.models.registry.random_parts`); records written before the field existed
  are recognised by the ``model_source`` their stand-in factory wrote (``stand-in``,
  ``replica``, ``replica-small``).
* **subset**: fewer (or more) images than the official count of the benchmark's split that
  ``radseg data verify`` knows (:data:`radseg.data.benchmarks.BENCHMARKS` ``val_count``):
  ``"N of M images"``. Datasets of one's own have no official count and are never a subset.

Tables mark such cells with :data:`RANDOM_MARK` / :data:`SUBSET_MARK` and add a legend.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

RANDOM_WEIGHTS = "random stand-in"
PRETRAINED = "pretrained"
#: ``model_source`` values stand-in factories write into bundle.info (records before ``weights``).
RANDOM_SOURCES = ("stand-in", "replica", "replica-small")
RANDOM_MARK = "†"
SUBSET_MARK = "‡"


def official_count(benchmark: Optional[str]) -> Optional[int]:
    """The number of images of the benchmark's evaluation split (None for other datasets)."""
    from ..data.benchmarks import BENCHMARKS
    b = BENCHMARKS.get(str(benchmark)) if benchmark else None
    return b.val_count if b is not None else None


def subset_counts(benchmark: Optional[str], num_images) -> Optional[Tuple[int, int]]:
    """``(N, M)`` when ``num_images`` N differs from the official count M, else ``None``."""
    m = official_count(benchmark)
    if m is None or isinstance(num_images, bool) or not isinstance(num_images, int):
        return None
    return (num_images, m) if num_images != m else None


def subset_text(benchmark: Optional[str], num_images) -> Optional[str]:
    """``"6 of 1449 images"`` for a subset (see :func:`subset_counts`), else ``None``."""
    c = subset_counts(benchmark, num_images)
    return f"{c[0]} of {c[1]} images" if c else None


def is_random(record: dict) -> bool:
    """Whether a record's numbers come from random stand-in weights."""
    w = record.get("weights")
    if isinstance(w, str):
        return w == RANDOM_WEIGHTS
    return record.get("model_source") in RANDOM_SOURCES


def record_subset(record: dict) -> Optional[Tuple[int, int]]:
    if record.get("own_dataset"):  # eval.py --dataset-dir: a dataset of one's own, whatever its name
        return None
    return subset_counts(record.get("benchmark"), record.get("num_images"))


def marks(record: dict) -> str:
    """``"†"``, ``"‡"``, ``"†‡"`` or ``""`` for one record."""
    return (RANDOM_MARK if is_random(record) else "") + (SUBSET_MARK if record_subset(record) else "")


def legend_lines(records: Iterable[dict]) -> List[str]:
    """The legend for the marks that appear among ``records`` (empty when none does)."""
    records = list(records)
    out = []
    randoms = sorted({str(r.get("model_version")) for r in records if is_random(r)})
    if randoms:
        out.append(f"{RANDOM_MARK} random stand-in weights ({', '.join(randoms)}): not a model's result; the "
                   f"numbers only show that the pipeline runs.")
    subsets = sorted({(str(r.get("benchmark")), str(r.get("resolution")), *record_subset(r))
                      for r in records if record_subset(r)})
    if subsets:
        shown = "; ".join(f"{b} {res}: {n} of {m} images" for b, res, n, m in subsets[:8])
        out.append(f"{SUBSET_MARK} a subset of the benchmark's images, not comparable with full-benchmark numbers "
                   f"({shown}{' ...' if len(subsets) > 8 else ''}).")
    return out


def random_weight_parts(predictor) -> List[str]:
    """The names of ``predictor``'s parts with random stand-in weights (empty for real weights).

    Works for any method's predictor: its settings (``config`` for RADSeg, else ``settings``) name
    ``model_version`` (and RADSeg+'s ``sam_ckpt``); its ``info`` / ``model_info`` may declare
    ``weights: random``."""
    from ..models.registry import random_parts
    settings = getattr(predictor, "config", None) or getattr(predictor, "settings", None)
    info = getattr(predictor, "info", None)
    if info is None:
        info = getattr(predictor, "model_info", None) or {}
    sam = getattr(settings, "sam_ckpt", None) if getattr(settings, "sam_refine", False) else None
    return random_parts(getattr(settings, "model_version", None), sam, info)


def weights_notice(predictor, note) -> Optional[str]:
    """Tell ``note`` (one line) when ``predictor`` runs random stand-in weights; returns the parts named."""
    parts = random_weight_parts(predictor)
    if not parts:
        return None
    text = " and ".join(f"'{p}'" for p in parts)
    settings = getattr(predictor, "settings", None) or getattr(predictor, "config", None)
    real = "c-radio_v3-b"
    if settings is not None and getattr(settings, "METHOD", "radseg") not in ("", "radseg"):
        real = str(type(settings)().model_version)  # the method's release default (e.g. ViT-B/16)
    note(f"{text} {'has' if len(parts) == 1 else 'have'} random weights (a stand-in): the segmentations "
         f"are meaningless; they show that the toolkit runs. Use a real model, e.g. --model_version {real}.")
    return text
