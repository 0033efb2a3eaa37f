"""``RADSegIoUMetric``: mmseg's ``IoUMetric`` that also returns per-class IoU and Acc.

The summary numbers (aAcc, mIoU, mAcc, rounded to 2 decimals by mmseg) are
exactly mmseg's; per-class values are added as ``IoU.<class>`` and
``Acc.<class>`` (mmseg 0.x style) so they survive the distributed collect.

Every label is checked as it is scored: a value outside ``0..num_classes-1``
that is not the ignore index (255) is a :class:`radseg.errors.DatasetError`
naming the label file and its image, not a silent ``mIoU 0.0`` / ``aAcc nan``.

``boundary_iou=True`` (``eval.py --boundary-iou``; CorrCLIPv2's spelling
``iou_metrics=['mIoU', 'mBoundaryIoU']`` also works) adds ``mBoundaryIoU`` and
``BoundaryIoU.<class>`` (:mod:`radseg.metrics.boundary_iou`; docs/BOUNDARY_IOU.md): each
sample's result gets the boundary intersection and union as a 5th and 6th entry (on the
``H x W`` maps, also where a side is 1 pixel).
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
from ..metrics.boundary_iou import DILATION_RATIO, boundary_intersect_union, boundary_iou_summary


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


def _image_map(data: torch.Tensor) -> np.ndarray:
    """A sample's ``1 x H x W`` (or ``H x W``) map -> ``H x W`` numpy, keeping a side of 1
    (``.squeeze()`` would turn a 1 x N map into a vector and 1 x 1 into a scalar)."""
    return (data[0] if data.ndim == 3 else data).cpu().numpy()


@METRICS.register_module()
class RADSegIoUMetric(IoUMetric):
    """``IoUMetric`` plus per-class values and the label check; ``allowed_label_values`` and
    ``boundary_iou``: see the module doc."""

    # mmengine warns "The prefix is not set" when prefix and default_prefix are both None; an
    # empty prefix silences it at its cause and keeps the metric names unprefixed ('mIoU',
    # 'IoU.<class>'), as the records and tables read them (BaseMetric.evaluate adds a prefix
    # only when it is non-empty).
    default_prefix = ""

    def __init__(self, *args, boundary_iou: bool = False, boundary_dilation_ratio: float = DILATION_RATIO,
                 allowed_label_values: Sequence[int] = (), **kwargs) -> None:
        metrics = kwargs.get("iou_metrics", ["mIoU"])
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if "mBoundaryIoU" in metrics:  # CorrCLIPv2's BoundaryIoUMetric switch
            metrics.remove("mBoundaryIoU")
            boundary_iou = True
            kwargs["iou_metrics"] = metrics or ["mIoU"]
        super().__init__(*args, **kwargs)
        self.boundary_iou = bool(boundary_iou)
        self.boundary_dilation_ratio = float(boundary_dilation_ratio)
        self.allowed_label_values = tuple(int(v) for v in allowed_label_values)

    def process(self, data_batch: dict, data_samples) -> None:
        if not self.format_only:
            num_classes = len(self.dataset_meta["classes"])
            for sample in data_samples:
                check_label_values(sample["gt_sem_seg"]["data"], num_classes, self.ignore_index, sample,
                                   self.allowed_label_values)
        super().process(data_batch, data_samples)
        if self.boundary_iou and not self.format_only:
            first = len(self.results) - len(data_samples)  # super() appended one tuple per sample
            for i, sample in enumerate(data_samples):
                pred = _image_map(sample["pred_sem_seg"]["data"])
                label = _image_map(sample["gt_sem_seg"]["data"])
                self.results[first + i] = tuple(self.results[first + i]) + boundary_intersect_union(
                    pred, label, num_classes, self.ignore_index, self.boundary_dilation_ratio)

    def compute_metrics(self, results: list) -> dict:
        boundary = [r[4:6] for r in results] if self.boundary_iou and not self.format_only else None
        results = [r[:4] for r in results] if boundary is not None else results
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        if boundary is not None:
            metrics.update(boundary_iou_summary(boundary, self.dataset_meta["classes"], self.nan_to_num))
        cols = tuple(zip(*results))
        ret = self.total_area_to_metrics(sum(cols[0]), sum(cols[1]), sum(cols[2]), sum(cols[3]),
                                         self.metrics, self.nan_to_num, self.beta)
        for name, iou, acc in zip(self.dataset_meta["classes"], ret["IoU"], ret["Acc"]):
            metrics[f"IoU.{name}"] = float(np.round(iou * 100, 2))
            metrics[f"Acc.{name}"] = float(np.round(acc * 100, 2))
        return metrics
