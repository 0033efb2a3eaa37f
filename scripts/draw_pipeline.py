#!/usr/bin/env python
"""Draw the RADSeg pipeline diagram to ``assets/pipeline.png`` (matplotlib, no data needed).

    .venv/bin/python scripts/draw_pipeline.py [--out assets/pipeline.png] [--dpi 150]

RADIO windows -> SCRA -> stitch -> SCGA -> head_mlp -> cosine with SigLIP2 text ->
prompt denoising -> SAM refinement (RADSeg+). The steps and their code are in
docs/ALGORITHM.md and docs/ARCHITECTURE.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

ROOT = Path(__file__).resolve().parents[1]

COLOURS = {  # face, edge
    "io": ("#f2f4f7", "#667085"),
    "radio": ("#dbeafe", "#2563eb"),
    "radseg": ("#ffedd5", "#ea580c"),
    "text": ("#dcfce7", "#16a34a"),
    "post": ("#ede9fe", "#7c3aed"),
}

# (key, x centre, y centre, title, detail, kind)
BOXES = [
    ("img", 1.0, 3.0, "image", "resized to the preset\n(e.g. 2048 x 448)", "io"),
    ("win", 3.35, 3.0, "RADIO windows", "crop 336, stride 224;\nall windows in one\nbatched backbone pass", "radio"),
    ("scra", 5.7, 3.0, "SCRA", "self-correlating\nrecursive attention\nin RADIO's last block", "radseg"),
    ("stitch", 8.05, 3.0, "stitch", "window tokens\naveraged where\nthey overlap", "radio"),
    ("scga", 10.4, 3.0, "SCGA", "self-correlating\nglobal aggregation\nover the whole image", "radseg"),
    ("mlp", 10.4, 0.9, "head_mlp", "SigLIP2 adaptor's\nprojection of each\ntoken", "radio"),
    ("text", 8.05, -1.05, "SigLIP2 text", "class names x prompt\ntemplates (cached)", "text"),
    ("cos", 8.05, 0.9, "cosine x 100, softmax", "per-pixel class scores;\nupsampled to the\noriginal size", "radseg"),
    ("den", 5.7, 0.9, "denoise", "drop classes whose\nmax score < thresh", "radseg"),
    ("sam", 3.35, 0.9, "SAM refinement",
     "RADSeg+: RADIO's SAM\nadaptor + SAM's prompt\nencoder & mask decoder", "post"),
    ("out", 1.0, 0.9, "label map", "argmax per pixel", "io"),
]
ARROWS = [("img", "win"), ("win", "scra"), ("scra", "stitch"), ("stitch", "scga"), ("scga", "mlp"),
          ("mlp", "cos"), ("text", "cos"), ("cos", "den"), ("den", "sam"), ("sam", "out")]
W, H = 2.05, 1.45


def draw(out: Path, dpi: int = 150) -> Path:
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig = Figure(figsize=(12.2, 5.6), dpi=dpi)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-0.2, 11.65)
        ax.set_ylim(-2.05, 4.55)
        ax.axis("off")
        ax.text(0.0, 4.25, "RADSeg: one RADIO backbone, training-free open-vocabulary segmentation",
                fontsize=14, fontweight="bold", va="center")
        pos = {}
        for key, x, y, title, detail, kind in BOXES:
            face, edge = COLOURS[kind]
            style = "--" if kind == "post" else "-"
            ax.add_patch(FancyBboxPatch((x - W / 2, y - H / 2), W, H, boxstyle="round,pad=0.02,rounding_size=0.12",
                                        facecolor=face, edgecolor=edge, linewidth=1.6, linestyle=style))
            ax.text(x, y + H / 2 - 0.25, title, ha="center", va="center", fontsize=11.5,
                    fontweight="bold", color="#1d2330")
            ax.text(x, y - 0.17, detail, ha="center", va="center", fontsize=8.6, color="#344054",
                    linespacing=1.25)
            pos[key] = (x, y)
        for a, b in ARROWS:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            if ya == yb:
                s = 1 if xb > xa else -1
                p, q = (xa + s * W / 2, ya), (xb - s * W / 2, yb)
            else:
                s = 1 if yb > ya else -1
                p, q = (xa, ya + s * H / 2), (xb, yb - s * H / 2)
            ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=16, linewidth=1.6,
                                         color="#475467", shrinkA=2, shrinkB=2))
        legend = [("radio", "RADIO (frozen)"), ("radseg", "RADSeg's training-free steps"),
                  ("text", "text side"), ("post", "optional: RADSeg+")]
        for i, (kind, label) in enumerate(legend):
            face, edge = COLOURS[kind]
            x, y = (0.0 if i % 2 == 0 else 2.6), (-1.2 if i < 2 else -1.7)
            ax.add_patch(FancyBboxPatch((x, y - 0.11), 0.32, 0.22, boxstyle="round,pad=0.01,rounding_size=0.05",
                                        facecolor=face, edgecolor=edge, linewidth=1.2,
                                        linestyle="--" if kind == "post" else "-"))
            ax.text(x + 0.42, y, label, va="center", fontsize=9.5, color="#344054")
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi, facecolor="white", metadata={"Software": None})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets" / "pipeline.png"))
    ap.add_argument("--dpi", type=int, default=150)
    args = ap.parse_args()
    print(f"wrote {draw(Path(args.out), args.dpi)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
