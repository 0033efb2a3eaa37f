"""The paper's teaser, measured: mIoU against ms per image, one point per method and preset.

:func:`pareto_points` pairs each row of a ``radseg bench --json`` file
(:mod:`.bench_input`) with an mIoU: the newest complete record under the work dir of the same
method (a record's ``method``, default ``radseg``; ``radseg`` with ``sam_refine`` is
``radseg+``), dataset and resolution, else the method's published number for the dataset
(``settings_cls.PUBLISHED`` through :mod:`radseg.methods.registry`; the release's own
protocol), marked as published. :func:`claims_table` sets the ratios measured here beside the
RADSeg README's claims. Pure Python (no torch): :func:`radseg.report.plots.pareto_figure` draws.

Honesty marks (figure and tables): † random stand-in weights behind an mIoU, ‡ a subset of the
benchmark's images (both as in ``radseg results``), * a published mIoU (not measured here);
timings from random-weight replicas and ``--small`` harness runs are named in the figure's
subtitle and the tables' captions.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..results.collect import Entry
from ..results.honesty import RANDOM_MARK, SUBSET_MARK, is_random, record_subset
from .bench_input import OWN_SUFFIX, BenchFile

PUBLISHED_MARK = "*"
#: display names of the methods (others show their registry name)
METHOD_TITLES = {"radseg": "RADSeg", "radseg+": "RADSeg+", "naclip": "NACLIP", "trident": "Trident",
                 "proxyclip": "ProxyCLIP"}
RADSEG_METHODS = ("radseg", "radseg+")


def method_title(method: str) -> str:
    return METHOD_TITLES.get(method, method)


def record_method(record: dict) -> str:
    """``radseg``, ``radseg+`` (RADSeg with SAM refinement) or the baseline's registry name."""
    m = str(record.get("method") or "radseg").strip().lower()
    return "radseg+" if m == "radseg" and record.get("sam_refine") else m


@dataclass
class ParetoPoint:
    method: str
    preset: str
    dataset: Optional[str]
    resolution: Optional[str]
    ms: float
    ms_iqr: Optional[float]
    params: Optional[int]
    miou: Optional[float] = None
    source: str = "none"  # "record" | "published" | "none"
    marks: str = ""  # † ‡ * of the mIoU
    record: str = ""  # the record's path, or what the published number is
    timing_valid: bool = True
    notes: List[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return method_title(self.method)

    @property
    def published(self) -> bool:
        return self.source == "published"

    @property
    def label(self) -> str:
        return f"{self.title} · {self.preset}"


def _spec_settings(method: str):
    """The method's settings class through the registry (None when the method is unknown here)."""
    from ..methods import get_method
    try:
        spec = get_method("radseg" if method in RADSEG_METHODS else method, require_available=False)
    except Exception:  # an unknown name: the bench may come from a build with more methods
        return None
    return spec.settings_cls


def published_miou(method: str, dataset: Optional[str]) -> Optional[float]:
    """The method's published mIoU for ``dataset`` (its ``PUBLISHED``; RADSeg+: ``PUBLISHED_SAM``)."""
    cls = _spec_settings(method)
    attr = "PUBLISHED_SAM" if method == "radseg+" else "PUBLISHED"
    table = getattr(cls, attr, None) if cls is not None else None
    v = (table or {}).get(dataset) if dataset else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _default_model(method: str) -> Optional[str]:
    cls = _spec_settings(method)
    try:
        return str(cls().model_version) if cls is not None else None
    except Exception:
        return None


def _pick(cands: List[Entry], method: str) -> Entry:
    """The newest record, preferring the method's default model (``c-radio_v3-b``, ``ViT-B/16``)."""
    default = _default_model(method)
    preferred = [e for e in cands if e.record.get("model_version") == default] or cands
    return max(preferred, key=lambda e: (e.time, str(e.path)))


def pareto_points(bench: BenchFile, entries: Sequence[Entry], decimals: int = 1) -> List[ParetoPoint]:
    """One point per bench row, with its mIoU (record, else published, else none)."""
    by_cell: Dict[Tuple[str, str, str], List[Entry]] = {}
    for e in entries:
        by_cell.setdefault((record_method(e.record), e.dataset, e.resolution), []).append(e)
    points = []
    for r in bench.rows:
        p = ParetoPoint(r.method, r.preset, r.dataset, r.resolution, r.ms, r.ms_iqr, r.params,
                        timing_valid=r.valid, notes=list(r.notes))
        cands = by_cell.get((r.method, r.dataset, r.resolution)) if r.dataset else None
        if cands:
            e = _pick(cands, r.method)
            p.miou = float(e.record["metrics"]["mIoU"])
            p.source, p.record = "record", str(e.path)
            p.marks = (RANDOM_MARK if is_random(e.record) else "") + (SUBSET_MARK if record_subset(e.record) else "")
        else:
            pub = published_miou(r.method, r.dataset)
            if pub is not None:
                p.miou, p.source, p.marks = pub, "published", PUBLISHED_MARK
                p.record = "published (the release's own protocol)"
        points.append(p)
    return points


def figure_subtitle(bench: BenchFile) -> str:
    """What the timings are: the machine, and random weights / --small where that is so."""
    parts = [f"ms per image on {bench.where}"]
    if bench.small:
        parts.append("--small harness run: not a speed figure")
    elif bench.random_weights:
        parts.append("timed on random-weight replicas (speed only)")
    return "; ".join(parts)


def point_notes(points: Sequence[ParetoPoint]) -> List[str]:
    """The figure's legend of marks, and the points that could not be drawn."""
    out = []
    if any(PUBLISHED_MARK in p.marks for p in points):
        out.append(f"{PUBLISHED_MARK} published mIoU (the release's own protocol), not measured here: hollow marker.")
    if any(RANDOM_MARK in p.marks for p in points):
        out.append(f"{RANDOM_MARK} mIoU from random stand-in weights: not a model's result.")
    if any(SUBSET_MARK in p.marks for p in points):
        out.append(f"{SUBSET_MARK} mIoU on a subset of the benchmark's images.")
    missing = [p.label for p in points if p.miou is None]
    if missing:
        out.append(f"no record and no published mIoU, not drawn: {', '.join(missing)}.")
    invalid = [p.label for p in points if not p.timing_valid]
    if invalid:
        out.append(f"timing flagged invalid by radseg bench (drawn with a cross): {', '.join(invalid)}.")
    return out


# -- the claims ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    key: str  # params | speed | miou
    text: str  # as the RADSeg README / teaser states it
    value: Optional[float]  # the claimed ratio (x) or gain (points), when the claim gives one


#: the RADSeg README's claims ("2.5x fewer parameters", "~4x faster inference" than comparable methods)
#: and the teaser's mIoU gain over Trident-B (RADSeg-B ~48.0, RADSeg+-B ~50.0, Trident-B ~43.8, read off
#: the figure: the gain is claimed against Trident only)
README_CLAIMS = (Claim("params", "2.5x fewer parameters", 2.5), Claim("speed", "~4x faster inference", 4.0))
TEASER_MIOU = {"radseg": 48.0, "radseg+": 50.0, "trident": 43.8}


@dataclass
class ClaimRow:
    claim: str
    claimed: str
    comparison: str
    measured: str
    detail: str
    machine: str


def _x(v: float) -> str:
    return f"{v:.2f}x"


def _geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _params_text(n: int) -> str:
    return f"{n / 1e6:.1f}M"


def _base_preset(preset: str) -> str:
    """``"voc_mid (own)"`` -> ``"voc_mid"``: a baseline's own-protocol row is timed beside RADSeg's."""
    return preset[:-len(OWN_SUFFIX)] if preset.endswith(OWN_SUFFIX) else preset


def claims_table(points: Sequence[ParetoPoint], bench: BenchFile, decimals: int = 1) -> List[ClaimRow]:
    """For each claim and each (RADSeg variant, baseline) pair in the bench: the ratio measured here.

    Parameters: baseline total / RADSeg total. Speed: baseline ms / RADSeg ms at each preset both
    ran (geometric mean, range). mIoU gain: RADSeg minus baseline at each dataset and resolution
    where both have an mIoU (mean), with the marks of the numbers used.
    """
    machine = bench.where + (" (--small)" if bench.small else " (random-weight replicas)" if bench.random_weights
                             else "")
    methods = list(dict.fromkeys(p.method for p in points))
    ours = [m for m in RADSEG_METHODS if m in methods]
    baselines = [m for m in methods if m not in RADSEG_METHODS]
    rows: List[ClaimRow] = []
    if not ours or not baselines:
        missing = "RADSeg" if not ours else "baseline"
        for c in README_CLAIMS + (Claim("miou", "mIoU gain over Trident (teaser)", None),):
            rows.append(ClaimRow(c.text, _x(c.value) if c.value else "teaser", "–",
                                 "not measured", f"the bench file has no {missing} row", machine))
        return rows
    by = {m: [p for p in points if p.method == m] for m in methods}
    params = {m: next((p.params for p in by[m] if p.params), None) for m in methods}
    for claim in README_CLAIMS:
        for b in baselines:
            for o in ours:
                comp = f"{method_title(o)} vs {method_title(b)}"
                if claim.key == "params":
                    if params[o] and params[b]:
                        rows.append(ClaimRow(claim.text, _x(claim.value), comp, _x(params[b] / params[o]),
                                             f"{_params_text(params[b])} / {_params_text(params[o])}", machine))
                    else:
                        rows.append(ClaimRow(claim.text, _x(claim.value), comp, "not measured",
                                             "no parameter count in the bench file", machine))
                    continue
                shared = [(pb, po) for pb in by[b] for po in by[o] if _base_preset(pb.preset) == po.preset]
                if not shared:
                    rows.append(ClaimRow(claim.text, _x(claim.value), comp, "not measured",
                                         "no preset timed for both", machine))
                    continue
                ratios = [pb.ms / po.ms for pb, po in shared]
                detail = ", ".join(f"{pb.preset} {_x(pb.ms / po.ms)}" for pb, po in shared)
                if any(not (pb.timing_valid and po.timing_valid) for pb, po in shared):
                    detail += " (includes a timing flagged invalid)"
                rows.append(ClaimRow(claim.text, _x(claim.value), comp,
                                     _x(_geomean(ratios)) + (" (geometric mean)" if len(ratios) > 1 else ""),
                                     detail, machine))
    for b in baselines:
        for o in ours:
            comp = f"{method_title(o)} vs {method_title(b)}"
            claimed = (f"{TEASER_MIOU[o] - TEASER_MIOU[b]:+.{decimals}f} ({TEASER_MIOU[o]} vs {TEASER_MIOU[b]}, "
                       f"read off the teaser)" if b in TEASER_MIOU else "not in the teaser")
            pairs = {}
            for po in by[o]:
                for pb in by[b]:
                    if po.miou is not None and pb.miou is not None and po.dataset == pb.dataset and (
                            po.resolution == pb.resolution or PUBLISHED_MARK in pb.marks):
                        pairs.setdefault((po.dataset, po.resolution), (po, pb))
            if not pairs:
                rows.append(ClaimRow("mIoU gain", claimed, comp, "not measured",
                                     "no dataset with an mIoU for both", machine))
                continue
            gains = [po.miou - pb.miou for po, pb in pairs.values()]
            marks = "".join(sorted(set("".join(po.marks + pb.marks for po, pb in pairs.values()))))
            detail = ", ".join(f"{ds} {res}: {po.miou:.{decimals}f}{po.marks} vs {pb.miou:.{decimals}f}{pb.marks}"
                               for (ds, res), (po, pb) in pairs.items())
            mean = statistics.fmean(gains)
            rows.append(ClaimRow("mIoU gain", claimed, comp,
                                 f"{mean:+.{decimals}f}{(' ' + marks) if marks else ''}"
                                 + (" (mean)" if len(gains) > 1 else ""), detail, machine))
    return rows


def points_by_method(points: Sequence[ParetoPoint]) -> Dict[str, List[ParetoPoint]]:
    out: Dict[str, List[ParetoPoint]] = {}
    for p in points:
        out.setdefault(p.method, []).append(p)
    return out



# -- the report's section and the figure alone -----------------------------------------------------

@dataclass
class PointRow:
    """One line of the points table under the figure (texts as shown)."""
    method: str
    preset: str
    ms: str
    iqr: str
    params: str
    miou: str
    source: str
    notes: str


@dataclass
class ParetoSection:
    bench: str  # the --bench path
    where: str  # machine and device
    subtitle: str
    figure: str  # data: URI of the SVG
    points: List[PointRow]
    claims: List[ClaimRow]
    notes: List[str]  # marks' legend, points left out, the bench file's own notes


def point_rows(points: Sequence[ParetoPoint], decimals: int = 1) -> List[PointRow]:
    rows = []
    for p in points:
        miou = f"{p.miou:.{decimals}f}{(' ' + p.marks) if p.marks else ''}" if p.miou is not None else "–"
        src = {"record": "record", "published": "published, not measured here"}.get(p.source, "none")
        notes = list(p.notes) + ([] if p.timing_valid else ["timing flagged invalid"])
        rows.append(PointRow(method_title(p.method), p.preset, f"{p.ms:.1f}",
                             f"{p.ms_iqr:.1f}" if p.ms_iqr is not None else "–",
                             _params_text(p.params) if p.params else "–", miou,
                             src + (f": {p.record}" if p.source == "record" else ""), "; ".join(notes)))
    return rows


def figure_bytes(bench: BenchFile, points: Sequence[ParetoPoint], fmt: str = "svg") -> bytes:
    from .plots import pareto_figure
    return pareto_figure(points, figure_subtitle(bench), point_notes(points), fmt=fmt)


def build_section(bench_path, entries: Sequence[Entry], decimals: int = 1) -> ParetoSection:
    """The report's "Speed and accuracy" section from ``--bench`` and the (filtered) records."""
    from .bench_input import load_bench
    from .plots import data_uri
    bench = load_bench(bench_path)
    points = pareto_points(bench, entries, decimals)
    return ParetoSection(bench.path, bench.where, figure_subtitle(bench), data_uri(figure_bytes(bench, points)),
                         point_rows(points, decimals), claims_table(points, bench, decimals),
                         point_notes(points) + bench.notes)
