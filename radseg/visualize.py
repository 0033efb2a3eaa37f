"""Colour overlays with a legend, and palette label-map PNGs."""
from __future__ import annotations

from typing import List, Sequence

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


def overlay(image_rgb: np.ndarray, labels: np.ndarray, names: Sequence[str], alpha: float = 0.5,
            legend: bool = True) -> Image.Image:
    """Blend class colours over the image and add a legend of the classes present.

    Args:
        image_rgb: ``H x W x 3`` uint8.
        labels: ``H x W`` class indices into ``names``.
    """
    pal = palette(len(names))
    colour = pal[labels]
    blended = (image_rgb.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha)
    out = Image.fromarray(blended.clip(0, 255).astype(np.uint8))
    if not legend:
        return out
    present: List[int] = [int(i) for i in np.unique(labels)]
    font = ImageFont.load_default()
    row_h = 16
    width = max(120, 28 + max((len(names[i]) for i in present), default=4) * 7)
    canvas = Image.new("RGB", (out.width + width, max(out.height, row_h * len(present) + 8)), "white")
    canvas.paste(out, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for k, i in enumerate(present):
        y = 4 + k * row_h
        x = out.width + 6
        draw.rectangle([x, y, x + 12, y + 12], fill=tuple(int(v) for v in pal[i]), outline="black")
        share = 100.0 * float((labels == i).mean())
        draw.text((x + 18, y), f"{names[i]} ({share:.0f}%)", fill="black", font=font)
    return canvas
