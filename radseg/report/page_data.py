"""What the report page shows, as plain dataclasses: the table cells, per-class groups, run
facts and the whole page's data (:class:`ReportData`), filled by :mod:`.build` and rendered by
``templates/report.html.j2``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple


@dataclass
class TableCell:
    text: str
    delta: str = ""
    cls: str = ""  # "up" | "down" | "same" | "" (colour of the delta)
    title: str = ""
    avg: bool = False


@dataclass
class PerClassRow:
    name: str
    values: List[Tuple[Optional[float], str]]  # (IoU or None, text) per column
    diff: Optional[float] = None
    diff_text: str = ""
    diff_width: float = 0.0  # % of half the cell


@dataclass
class PerClassGroup:
    base: str
    columns: List[str]
    summary: List[str]  # mIoU text per column
    summary_diff: str
    rows: List[PerClassRow]
    has_diff: bool
    summary_cls: str = ""
    open: bool = False


@dataclass
class PerClassSection:
    resolution: str
    dataset: str
    title: str
    anchor: str
    groups: List[PerClassGroup]


@dataclass
class RunInfo:
    row: str
    resolution: str
    dataset: str
    metric: str
    num_images: str
    images_per_s: str
    ms_per_image: str
    test_time: str
    device: str
    peak_mem: str
    world_size: str
    model_version: str
    model_source: str
    model_revision: str
    model_revision_full: str
    git_revision: str
    versions: str
    config_hash: str
    finished_at: str
    record: str
    predictions: str


@dataclass
class ReportData:
    title: str
    work_dir: str
    generated: str
    metric: str
    n_records: int
    incomplete: List[str]
    failed: List[str]
    table_groups: List[Tuple[str, int]]  # (resolution, colspan)
    table_headers: List[Tuple[str, bool]]  # (header, is avg)
    table_rows: List[Tuple[str, List[TableCell]]]
    table_legend: str
    has_reference: bool
    reference_notes: List[str]
    resolution_plots: List[Tuple[str, str]]  # (title, data uri)
    row_colours: List[Tuple[str, str]]  # (table row, css colour) of the charts
    per_class: List[PerClassSection]
    grids: list
    grid_notes: List[str]
    num_images: int
    runs: List[RunInfo]
    speed_plot: Optional[str]
    build_seconds: float = 0.0
    per_class_label: str = "IoU"  # "Boundary IoU" with --metric mBoundaryIoU
    per_class_mean: str = "mIoU"
    notes: List[str] = field(default_factory=list)
    # MESS's own table (radseg.results.mess): the 22 datasets, the five domains, Mean
    mess_headers: List[str] = field(default_factory=list)
    mess_rows: List[Tuple[str, List[str]]] = field(default_factory=list)
    mess_legend: str = ""
    # --bench: the speed-accuracy figure, its points and the claims table (radseg.report.pareto)
    pareto: Optional[object] = None
