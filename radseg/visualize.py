"""Colour overlays with a legend, and palette label-map PNGs."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont


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


def overlay(image_rgb: np.ndarray, labels: np.ndarray, names: Sequence[str], alpha: float = 0.5,
            legend: bool = True) -> Image.Image:
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
    font = _font(size)
    row_h = int(size * 1.5)
    counts = np.bincount(labels.reshape(-1), minlength=len(names))
    texts = [f"{n} ({100.0 * c / labels.size:.0f}%)" for n, c in zip(names, counts)]
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
