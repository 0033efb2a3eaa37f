"""``RADSegIoUMetric``: mmseg's ``IoUMetric`` that also returns per-class IoU and Acc.

The summary numbers (aAcc, mIoU, mAcc, rounded to 2 decimals by mmseg) are
exactly mmseg's; per-class values are added as ``IoU.<class>`` and
``Acc.<class>`` (mmseg 0.x style) so they survive the distributed collect.
"""
from __future__ import annotations

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class RADSegIoUMetric(IoUMetric):

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
