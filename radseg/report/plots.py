"""Matplotlib figures of the report, returned as ``data:`` URIs (SVG, text as paths).

Only the object-oriented API (:class:`matplotlib.figure.Figure`) is used: no pyplot,
no global backend switch, nothing left open. Each figure goes into its own ``<img>``,
so SVG ids of different figures cannot collide, and no font is needed to view them.
"""
from __future__ import annotations

import base64
import io
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
from matplotlib.figure import Figure

#: RADSeg in a light shade, RADSeg+ (SAM refinement) in the full colour of the same hue
_BASE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22")
_RC = {"svg.fonttype": "path", "svg.hashsalt": "radseg-report", "font.size": 9,
       "axes.spines.top": False, "axes.spines.right": False, "font.family": "DejaVu Sans"}


def _lighten(hex_colour: str, f: float = 0.55) -> Tuple[float, float, float]:
    r, g, b = matplotlib.colors.to_rgb(hex_colour)
    return r + (1 - r) * f, g + (1 - g) * f, b + (1 - b) * f


def row_colour(base_index: int, refine: bool):
    c = _BASE_COLOURS[base_index % len(_BASE_COLOURS)]
    return matplotlib.colors.to_rgb(c) if refine else _lighten(c)


def svg_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def resolution_figure(title: str, resolutions: Sequence[str], rows: Sequence[str],
                      values: Dict[Tuple[str, str], Optional[float]], metric: str = "mIoU",
                      colours: Optional[Dict[str, object]] = None) -> str:
    """Grouped bars: one group per resolution preset, one bar per table row (RADSeg light,
    RADSeg+ dark, same hue per model). ``values[(row, res)]``; missing cells are left out.
    The legend is the page's (the colours are the same in every chart)."""
    n_rows, n_res = max(len(rows), 1), max(len(resolutions), 1)
    width = 0.8 / n_rows
    with matplotlib.rc_context(_RC):
        # SVG sizes are in points (1 pt = 1.33 CSS px): about 330-560 px wide, 250 px high
        fig = Figure(figsize=(min(2.0 + 0.17 * n_rows * n_res, 8.5), 2.5),
                     layout="constrained")
        ax = fig.add_subplot()
        label_bars = n_rows * n_res <= 24
        top = 0.0
        for i, row in enumerate(rows):
            xs, ys = [], []
            for j, res in enumerate(resolutions):
                v = values.get((row, res))
                if v is not None:
                    xs.append(j - 0.4 + width * (i + 0.5))
                    ys.append(v)
            if not xs:
                continue
            top = max(top, max(ys))
            colour = (colours or {}).get(row, row_colour(i, row.endswith("+ SAM")))
            bars = ax.bar(xs, ys, width=width * 0.92, color=[colour], label=row,
                          edgecolor="white", linewidth=0.5)
            if label_bars:
                ax.bar_label(bars, labels=[f"{y:.1f}" for y in ys], fontsize=6, padding=1.5)
        ax.set_xticks(range(len(resolutions)), list(resolutions))
        ax.set_xlim(-0.55, len(resolutions) - 0.45)
        ax.set_ylim(0, max(top * 1.15, 1.0))
        ax.set_ylabel(f"{metric} (%)")
        ax.set_title(title, fontsize=10, fontweight="bold", loc="left")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        return svg_uri(fig)


def speed_figure(labels: Sequence[str], images_per_s: Sequence[float], colours: Sequence[object]) -> str:
    """Horizontal bars of images/s, one per run (only for a readable number of runs)."""
    n = max(len(labels), 1)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.5, 0.7 + 0.16 * n), layout="constrained")
        ax = fig.add_subplot()
        y = list(range(n))[::-1]
        bars = ax.barh(y[:len(labels)], images_per_s, color=list(colours), height=0.7)
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in images_per_s], fontsize=7, padding=2)
        ax.set_yticks(y[:len(labels)], list(labels), fontsize=7)
        ax.set_xlabel("images / s")
        ax.set_xlim(0, max(list(images_per_s) + [1e-9]) * 1.18)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        return svg_uri(fig)


def css_colour(colour) -> str:
    return matplotlib.colors.to_hex(colour)


def base_rows(rows: Sequence[str]) -> List[str]:
    """Model rows without the ``+ SAM`` suffix, in order of first appearance."""
    out: List[str] = []
    for r in rows:
        b = r[:-len(" + SAM")] if r.endswith(" + SAM") else r
        if b not in out:
            out.append(b)
    return out


#: marker area (pt^2) of the largest parameter count in a figure; the smallest drawn is a quarter of it
_MAX_AREA = 520.0


def _marker_area(params: Optional[int], largest: Optional[int]) -> float:
    if not params or not largest:
        return 90.0
    return max(_MAX_AREA * params / largest, 30.0)


def _size_keys(largest: int) -> List[int]:
    """Two round parameter counts for the size key: about a quarter of the largest, and the largest."""
    def round1(n: float) -> int:
        digits = max(len(str(int(n))) - 1, 0)
        return int(round(n / 10 ** digits) * 10 ** digits)
    return sorted({round1(largest / 4), round1(largest)})


def pareto_figure(points, subtitle: str, notes: Sequence[str] = (), fmt: str = "svg") -> bytes:
    """The teaser: mIoU (%) against ms per image, one marker per method and preset.

    ``points``: :class:`radseg.report.pareto.ParetoPoint` (``method``, ``title``, ``preset``, ``ms``,
    ``ms_iqr``, ``params``, ``miou``, ``marks``, ``published``, ``timing_valid``; those without an mIoU are
    left out);
    marker area proportional to the parameter count (fixed when unknown), filled for an mIoU of a
    record here, hollow for a published one, a cross over a timing the bench flagged invalid;
    horizontal bars: the timing's interquartile range. ``subtitle`` names the machine and the
    weights; ``notes`` go under the axes. Returns the SVG (text as paths) or PNG bytes.
    """
    import textwrap
    drawn = [p for p in points if p.miou is not None]
    methods = list(dict.fromkeys(p.method for p in points))
    largest = max([p.params for p in points if p.params] or [0]) or None  # one scale for every method
    # a 7-inch figure holds ~120 characters at 7.5 pt (~135 at 6.5 pt): wrap each line, never clip one
    # (a long machine name)
    subtitle = "\n".join(w for line in subtitle.split("\n") for w in textwrap.wrap(line, 112) or [""])
    notes = [w for n in notes for w in textwrap.wrap(n, 130, subsequent_indent="  ")]
    n_notes = len(notes)
    n_sub = subtitle.count("\n")
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.0, 4.3 + 0.16 * n_notes + 0.13 * n_sub), layout="constrained")
        if notes:  # the marks' legend under the axes, so that the figure alone says what it shows
            ax, note_ax = fig.subplots(2, 1, height_ratios=[4.3, 0.02 + 0.16 * n_notes])
            note_ax.axis("off")
            note_ax.text(0.0, 1.0, "\n".join(notes), fontsize=6.5, ha="left", va="top", color="#444444",
                         transform=note_ax.transAxes)
        else:
            ax = fig.add_subplot()
        for i, m in enumerate(methods):
            colour = _BASE_COLOURS[i % len(_BASE_COLOURS)]
            mine = [p for p in drawn if p.method == m]
            for p in mine:
                published = p.published
                if p.ms_iqr:
                    ax.errorbar([p.ms], [p.miou], xerr=[[p.ms_iqr / 2], [p.ms_iqr / 2]], fmt="none",
                                ecolor=colour, elinewidth=0.8, capsize=2, zorder=2)
                ax.scatter([p.ms], [p.miou], s=_marker_area(p.params, largest), zorder=3,
                           facecolors="none" if published else [colour], edgecolors=[colour], linewidths=1.4)
                if not p.timing_valid:
                    ax.scatter([p.ms], [p.miou], s=40, marker="x", color="black", linewidths=1.0, zorder=4)
                # an own-protocol point sits near the same method's point at that preset: label it below
                below = p.resolution == "own"
                ax.annotate(f"{p.preset}{(' ' + p.marks) if p.marks else ''}", (p.ms, p.miou), fontsize=6.5,
                            xytext=(5, -10 if below else 4), textcoords="offset points", color="#333333")
            title = next(p.title for p in points if p.method == m)
            ax.scatter([], [], s=60, color=colour, label=title + ("" if mine else " (no mIoU)"))
        xs = [p.ms for p in drawn]
        if xs and max(xs) / min(xs) > 20:
            ax.set_xscale("log")
        ax.set_xlabel("ms per image (median; bar: interquartile range)")
        ax.set_ylabel("mIoU (%)")
        ax.grid(color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        if not drawn:
            ax.text(0.5, 0.5, "no point has an mIoU (no record, no published number)", ha="center",
                    va="center", transform=ax.transAxes, color="#666666")
        title = "Speed and accuracy" + (" (marker area: parameters)" if largest else "")
        ax.set_title(title, fontsize=10, fontweight="bold", loc="left")
        fig.suptitle(subtitle, fontsize=7.5, x=0.01, ha="left", color="#444444")
        if methods:
            handles, labels = ax.get_legend_handles_labels()
            if largest:  # the size key: hollow grey markers of round parameter counts
                for n in _size_keys(largest):
                    handles.append(ax.scatter([], [], s=_marker_area(n, largest), facecolors="none",
                                              edgecolors="#777777", linewidths=1.0))
                    labels.append(f"{n / 1e6:.0f}M parameters")
            ax.legend(handles, labels, loc="best", fontsize=7, frameon=False, labelspacing=1.1, borderpad=0.8)
        buf = io.BytesIO()
        if fmt == "png":
            fig.savefig(buf, format="png", dpi=150, metadata={"Software": None})
        else:
            fig.savefig(buf, format="svg", metadata={"Date": None})
        return buf.getvalue()


def data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
