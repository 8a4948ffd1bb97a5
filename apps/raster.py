"""Renders the items of a Tk Canvas into an RGB array and a PNG (numpy + zlib, no PIL, no ghostscript).

The demo's headless screenshot is drawn from the Canvas's own item list (stacking order, coordinates,
colours, widths, fonts, anchors), so the PNG shows what the window shows. Supported items are the
ones the demo draws: ``line`` (any width, round caps), ``rectangle``, ``oval`` and ``text``; text uses
the 6x13 bitmap font of ``apps.font`` scaled to the item's pixel size, so glyph shapes differ from the
screen font but positions and sizes follow the Canvas.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from apps.font import GLYPH_HEIGHT, GLYPH_WIDTH, text_mask

Box = Tuple[int, int, int, int]       # x0, y0, x1, y1 in pixels, x1/y1 exclusive


def _png_encoder():
    """``keras_skeleton.summaries.png``, loaded from its file: importing the package would import TensorFlow
    (same approach as ``data_tools.layouts``); the module itself needs only numpy and zlib."""
    if "keras_skeleton.summaries" in sys.modules:
        return sys.modules["keras_skeleton.summaries"].png
    name = "keras_skeleton_summaries_standalone"
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_skeleton",
                            "summaries.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].png


def encode_png(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes."""
    return _png_encoder()(rgb)


class Raster:
    """An (H, W, 3) uint8 image with the primitives the Canvas items need (pixel centres at +0.5)."""

    def __init__(self, width: int, height: int, background: Sequence[int]):
        self.image = np.empty((height, width, 3), np.uint8)
        self.image[:] = background

    def _clip(self, x0: float, y0: float, x1: float, y1: float) -> Optional[Box]:
        height, width = self.image.shape[:2]
        box = (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
               min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))
        return box if box[0] < box[2] and box[1] < box[3] else None

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, fill, outline, width: float) -> None:
        # Tk fills [x0, x1) x [y0, y1) and draws the outline centred on the edge.
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        if fill is not None:
            box = self._clip(round(x0), round(y0), round(x1), round(y1))
            if box:
                self.image[box[1]:box[3], box[0]:box[2]] = fill
        if outline is not None and width > 0:
            corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
            self.polyline(corners, outline, width, round_caps=False)

    def polyline(self, points: Sequence[Tuple[float, float]], colour, width: float, round_caps: bool = True) -> None:
        """Segments as capsules: pixels whose centre lies within ``width / 2`` of the segment."""
        radius = max(width / 2.0, 0.6)          # thinner than a pixel would leave diagonal gaps
        for (xa, ya), (xb, yb) in zip(points[:-1], points[1:]):
            box = self._clip(min(xa, xb) - radius, min(ya, yb) - radius, max(xa, xb) + radius,
                             max(ya, yb) + radius)
            if not box:
                continue
            ys, xs = np.mgrid[box[1]:box[3], box[0]:box[2]] + 0.5
            dx, dy = xb - xa, yb - ya
            length2 = dx * dx + dy * dy
            t = np.zeros_like(xs) if length2 == 0 else ((xs - xa) * dx + (ys - ya) * dy) / length2
            if not round_caps:
                inside = (t >= 0) & (t <= 1)
            t = np.clip(t, 0.0, 1.0)
            near = (xs - xa - t * dx) ** 2 + (ys - ya - t * dy) ** 2 <= radius * radius
            if not round_caps:
                near &= inside | (length2 == 0)
            self.image[box[1]:box[3], box[0]:box[2]][near] = colour

    def oval(self, x0: float, y0: float, x1: float, y1: float, fill, outline, width: float) -> None:
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        box = self._clip(x0, y0, x1, y1)
        if not box:
            return
        ys, xs = np.mgrid[box[1]:box[3], box[0]:box[2]] + 0.5
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
        distance = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2
        region = self.image[box[1]:box[3], box[0]:box[2]]
        if fill is not None:
            region[distance <= 1.0] = fill
        if outline is not None and width > 0:
            inner = ((xs - cx) / max(rx - width, 0.1)) ** 2 + ((ys - cy) / max(ry - width, 0.1)) ** 2
            region[(distance <= 1.0) & (inner > 1.0)] = outline

    def text(self, x: float, y: float, text: str, colour, anchor: str, scale: int) -> Optional[Box]:
        """One line at the Tk anchor point; returns the box it covers (before clipping) or None if empty."""
        mask = text_mask(text, scale)
        height, width = mask.shape
        if width == 0:
            return None
        x0 = x if "w" in anchor else x - width if "e" in anchor else x - width / 2
        y0 = y if "n" in anchor else y - height if "s" in anchor else y - height / 2
        x0, y0 = int(round(x0)), int(round(y0))
        box = self._clip(x0, y0, x0 + width, y0 + height)
        if box:
            crop = mask[box[1] - y0:box[3] - y0, box[0] - x0:box[2] - x0]
            self.image[box[1]:box[3], box[0]:box[2]][crop] = colour
        return (x0, y0, x0 + width, y0 + height)


def font_scale(canvas, font_name: str) -> int:
    """The bitmap-font scale that matches a Tk font's pixel height (13 px -> 1, 26 px -> 2)."""
    import tkinter.font as tkfont

    try:
        pixels = tkfont.Font(root=canvas, font=font_name).metrics("linespace")
    except Exception:  # noqa: BLE001 - an unknown font spec renders at the base size
        return 1
    return max(1, int(round(pixels / (GLYPH_HEIGHT + 2))))


def rasterise_canvas(canvas, width: Optional[int] = None,
                     height: Optional[int] = None) -> Tuple[np.ndarray, Dict[str, Box]]:
    """Draws every visible item of a Tk ``canvas`` in stacking order.

    Returns the (H, W, 3) uint8 image and, for every tag of a text item, the pixel box of its text
    (the last text item wins when several carry the same tag).
    """
    width = width or int(canvas.cget("width"))
    height = height or int(canvas.cget("height"))
    colours: Dict[str, Optional[Tuple[int, int, int]]] = {"": None}

    def colour(name: str):
        if name not in colours:
            colours[name] = tuple(v >> 8 for v in canvas.winfo_rgb(name))
        return colours[name]

    raster = Raster(width, height, colour(canvas.cget("background")))
    text_boxes: Dict[str, Box] = {}
    scales: Dict[str, int] = {}
    for item in canvas.find_all():
        if canvas.itemcget(item, "state") == "hidden":
            continue
        kind = canvas.type(item)
        coords: List[float] = canvas.coords(item)
        if kind == "line":
            points = list(zip(coords[0::2], coords[1::2]))
            raster.polyline(points, colour(canvas.itemcget(item, "fill")), float(canvas.itemcget(item, "width")),
                            round_caps=canvas.itemcget(item, "capstyle") == "round")
        elif kind in ("rectangle", "oval"):
            draw = raster.rectangle if kind == "rectangle" else raster.oval
            draw(*coords, colour(canvas.itemcget(item, "fill")), colour(canvas.itemcget(item, "outline")),
                 float(canvas.itemcget(item, "width")))
        elif kind == "text":
            font = canvas.itemcget(item, "font")
            if font not in scales:
                scales[font] = font_scale(canvas, font)
            box = raster.text(coords[0], coords[1], canvas.itemcget(item, "text"),
                              colour(canvas.itemcget(item, "fill")), canvas.itemcget(item, "anchor"), scales[font])
            if box:
                for tag in canvas.gettags(item):
                    text_boxes[tag] = box
        else:
            raise ValueError(f"canvas item type '{kind}' is not supported by the rasteriser")
    return raster.image, text_boxes


__all__ = ["Raster", "encode_png", "rasterise_canvas", "GLYPH_WIDTH", "GLYPH_HEIGHT"]
