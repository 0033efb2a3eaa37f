"""``radseg report``: a self-contained HTML report of the result records under a folder.

The table (the numbers of ``radseg results``), mIoU per resolution preset, per-class IoU
(RADSeg vs RADSeg+), qualitative grids from saved predictions, speed and provenance.
Needs the ``report`` extra (matplotlib, jinja2).
"""
from .build import ReportError, build_report, collect, config_hash, render_html

__all__ = ["ReportError", "build_report", "collect", "config_hash", "render_html"]
