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
