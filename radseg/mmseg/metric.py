"""``RADSegIoUMetric``: mmseg's ``IoUMetric`` that also returns per-class IoU and Acc.

The summary numbers (aAcc, mIoU, mAcc, rounded to 2 decimals by mmseg) are
exactly mmseg's; per-class values are added as ``IoU.<class>`` and
``Acc.<class>`` (mmseg 0.x style) so they survive the distributed collect.

Every label is checked as it is scored: a value outside ``0..num_classes-1``
that is not the ignore index (255) is a :class:`radseg.errors.DatasetError`
naming the label file and its image, not a silent ``mIoU 0.0`` / ``aAcc nan``.
``allowed_label_values`` lists other values the labels may hold without being
ignored: ADE-847 / PC-459's unlabeled 65535 under the literature's evaluation
(ignore index 255; mmseg's ``intersect_and_union`` then drops those pixels from
the label histogram but counts their predictions; EXTRA_BENCHMARKS.md section 0).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

from ..errors import DatasetError


def check_label_values(label: torch.Tensor, num_classes: int, ignore_index: int, sample,
                       allowed: Sequence[int] = ()) -> None:
    """Raise :class:`DatasetError` if ``label`` (as the metric sees it) holds a value that is
    neither a class index ``0..num_classes-1`` nor ``ignore_index`` nor one of ``allowed``;
    ``sample`` names the files."""
    bad = ((label < 0) | (label >= num_classes)) & (label != ignore_index)
    for v in allowed:
        bad &= label != int(v)
    if not bool(bad.any()):
        return
    vals = torch.unique(label[bad]).tolist()
    reduce = bool(sample.get("reduce_zero_label", False))
    shown = [v + 1 for v in vals] if reduce else vals  # the values in the file
    text = ", ".join(str(int(v)) for v in shown[:8]) + (", ..." if len(shown) > 8 else "")
    allowed_text = f"1..{num_classes} (0 = background, ignored)" if reduce else f"0..{num_classes - 1}"
    also = "".join(f" and {int(v)}" for v in allowed)
    raise DatasetError(
        f"label '{sample.get('seg_map_path', '?')}' (image '{sample.get('img_path', '?')}') holds value(s) "
        f"{text}, outside {allowed_text} and {ignore_index} (ignore){also} for this {num_classes}-class dataset: "
        f"the wrong label files or a wrong conversion; re-create them with `radseg data prepare` "
        f"and check them with `radseg data verify`.")


@METRICS.register_module()
class RADSegIoUMetric(IoUMetric):
    """``IoUMetric`` plus per-class values and the label check; ``allowed_label_values``: see the module doc."""

    def __init__(self, allowed_label_values: Sequence[int] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.allowed_label_values = tuple(int(v) for v in allowed_label_values)

    def process(self, data_batch: dict, data_samples) -> None:
        if not self.format_only:
            num_classes = len(self.dataset_meta["classes"])
            for sample in data_samples:
                check_label_values(sample["gt_sem_seg"]["data"], num_classes, self.ignore_index, sample,
                                   self.allowed_label_values)
        super().process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        cols = tuple(zip(*results))
        ret = self.total_area_to_metrics(sum(cols[0]), sum(cols[1]), sum(cols[2]), sum(cols[3]),
                                         self.metrics, self.nan_to_num, self.beta)
        for name, iou, acc in zip(self.dataset_meta["classes"], ret["IoU"], ret["Acc"]):
            metrics[f"IoU.{name}"] = float(np.round(iou * 100, 2))
            metrics[f"Acc.{name}"] = float(np.round(acc * 100, 2))
        return metrics
