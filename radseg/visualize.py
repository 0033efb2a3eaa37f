"""Colour overlays with a legend, and palette label-map PNGs.

The legend font is the first that has every character of the legend: Pillow's
built-in font (ASCII), else ``$RADSEG_FONT`` (a .ttf/.otf/.ttc file), else an installed
font, CJK-capable ones first (Noto Sans CJK, Source Han Sans, WenQuanYi, Droid Sans
Fallback, then Noto Sans, DejaVu Sans, Liberation Sans, ...; matplotlib's DejaVu Sans
when matplotlib is installed). If none has them all, the best one is used and a
warning names the missing characters and how to install a font that has them.
"""
from __future__ import annotations

import fnmatch
import functools
import logging
import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

#: font files tried in this order (first match per pattern); CJK-capable ones first.
FONT_PREFERENCE = (
    "NotoSansCJK-Regular.ttc", "NotoSansCJK*-Regular.ttc", "NotoSansCJK*-Regular.otf", "NotoSans*CJK*.ttc",
    "SourceHanSans*-Regular.otf", "SourceHanSans*.ttc", "wqy-zenhei.ttc", "wqy-microhei.ttc",
    "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "NotoSans-Regular.ttf", "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf", "Arial Unicode.ttf", "arialuni.ttf", "msyh.ttc", "PingFang.ttc",
    "Arial.ttf", "arial.ttf", "FreeSans.ttf",
)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts",
             "/System/Library/Fonts", "/Library/Fonts", "~/Library/Fonts", "C:/Windows/Fonts")


def palette(n: int) -> np.ndarray:
    """``n x 3`` uint8 colours, distinct for neighbouring indices (PASCAL VOC bit scheme)."""
    pal = np.zeros((max(n, 1), 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i + 1, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal[:n]


def label_map_image(labels: np.ndarray, n: int) -> Image.Image:
    """``H x W`` integer labels -> palette ('P') PNG image holding the indices."""
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    pal = np.zeros((256, 3), dtype=np.uint8)
    pal[:n] = palette(n)
    img.putpalette(pal.flatten().tolist())
    return img


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)  # scalable (Pillow >= 10.1 with FreeType)
    except TypeError:  # older Pillow: the fixed bitmap font
        return ImageFont.load_default()


@functools.lru_cache(maxsize=1)
def font_candidates() -> List[str]:
    """Font files to try for non-ASCII legends, in :data:`FONT_PREFERENCE` order."""
    found = {}
    for d in FONT_DIRS:
        d = os.path.expanduser(d)
        if not os.path.isdir(d):
            continue
        for root, _, files in os.walk(d):
            for f in files:
                if f.lower().endswith((".ttf", ".otf", ".ttc")):
                    found.setdefault(f, os.path.join(root, f))
    try:
        import importlib.util
        spec = importlib.util.find_spec("matplotlib")
        if spec and spec.origin:
            mpl = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
            if mpl.is_file():
                found.setdefault("DejaVuSans.ttf", str(mpl))
    except (ImportError, ValueError):  # pragma: no cover
        pass
    out: List[str] = []
    for pattern in FONT_PREFERENCE:
        for name in sorted(found):
            if fnmatch.fnmatch(name, pattern) and found[name] not in out:
                out.append(found[name])
    return out


def _glyph(font, ch: str):
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def missing_glyphs(font, text: str) -> str:
    """The characters of ``text`` that ``font`` draws as its "missing glyph" box."""
    chars = sorted({c for c in text if not c.isspace()})
    if all(c.isascii() for c in chars) and not isinstance(font, ImageFont.FreeTypeFont):
        return ""
    try:
        notdef = {_glyph(font, "\U0010FFFF"), _glyph(font, "\uE000")}
        return "".join(c for c in chars if _glyph(font, c) in notdef and c not in "\U0010FFFF\uE000")
    except Exception:  # a bitmap font that cannot render the character at all
        return "".join(c for c in chars if not c.isascii())


def legend_font(texts: Sequence[str], size: int, notify: Optional[Callable[[str], None]] = None):
    """A font of ``size`` px that has every character of ``texts`` (see the module doc)."""
    text = "".join(texts)
    default = _font(size)
    best, best_missing = default, missing_glyphs(default, text)
    if not best_missing:
        return default
    paths = ([os.environ["RADSEG_FONT"]] if os.environ.get("RADSEG_FONT") else []) + font_candidates()
    for path in paths:
        try:
            font = ImageFont.truetype(path, size)
        except OSError:
            continue
        miss = missing_glyphs(font, text)
        if len(miss) < len(best_missing):
            best, best_missing = font, miss
        if not miss:
            return font
    (notify or logger.warning)(
        f"no installed font has the legend characters '{best_missing}'; they show as boxes. Install a font "
        f"that has them (Debian/Ubuntu: apt-get install fonts-noto-cjk) or set $RADSEG_FONT to a "
        f".ttf/.otf/.ttc file.")
    return best


def overlay(image_rgb: np.ndarray, labels: np.ndarray, names: Sequence[str], alpha: float = 0.5,
            legend: bool = True, notify: Optional[Callable[[str], None]] = None) -> Image.Image:
    """Blend class colours over the image and add a legend of every requested class.

    Args:
        image_rgb: ``H x W x 3`` uint8.
        labels: ``H x W`` class indices into ``names``.
    Returns:
        The blended image with a legend column on the right: each class's colour, name
        and share of the pixels (classes that were not predicted show 0%).
    """
    pal = palette(len(names))
    colour = pal[labels]
    blended = (image_rgb.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha)
    out = Image.fromarray(blended.clip(0, 255).astype(np.uint8))
    if not legend:
        return out
    size = max(12, out.height // 40)
    row_h = int(size * 1.5)
    counts = np.bincount(labels.reshape(-1), minlength=len(names))
    texts = [f"{n} ({100.0 * c / labels.size:.0f}%)" for n, c in zip(names, counts)]
    font = legend_font(texts, size, notify)
    draw = ImageDraw.Draw(out)
    text_w = max(int(draw.textlength(t, font=font)) for t in texts)
    width = text_w + 2 * size + 12
    canvas = Image.new("RGB", (out.width + width, max(out.height, row_h * len(names) + 8)), "white")
    canvas.paste(out, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(texts):
        y = 4 + i * row_h
        x = out.width + 6
        draw.rectangle([x, y, x + size, y + size], fill=tuple(int(v) for v in pal[i]), outline="black")
        draw.text((x + size + 6, y), text, fill="black" if counts[i] else "gray", font=font)
    return canvas
