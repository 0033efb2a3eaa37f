"""Evaluation metrics beyond mmseg's IoU (plain numpy / OpenCV: no torch, no mm*).

* :mod:`.boundary_iou`: Boundary IoU per class over a dataset, as the literature
  computes it (docs/EXTRA_BENCHMARKS.md section 4, docs/BOUNDARY_IOU.md).
"""
