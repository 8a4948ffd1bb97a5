"""TensorBoard event files without TensorFlow: scalars and RGB images (any Keras backend).

Uses only the ``tensorboard`` package's event writer and protocol buffers, so JAX
or PyTorch runs log the same files as TensorFlow runs. Images are encoded as PNG
with ``zlib`` (no matplotlib or PIL needed).
"""

from __future__ import annotations

import os
import struct
import time
import zlib

import numpy as np


class EventWriter:
    """Writes ``tag -> value`` scalars and images for one TensorBoard run directory."""

    def __init__(self, log_dir: str):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        os.makedirs(log_dir, exist_ok=True)
        self._writer = EventFileWriter(log_dir)

    def _add(self, value, step: int) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2

        summary = summary_pb2.Summary(value=[value])
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def restart(self, step: int) -> None:
        """Marks a resumed run: TensorBoard drops this directory's older events from ``step`` on."""
        from tensorboard.compat.proto import event_pb2

        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step),
                                               session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)))

    def scalar(self, tag: str, value: float, step: int) -> None:
        from tensorboard.compat.proto import summary_pb2

        self._add(summary_pb2.Summary.Value(tag=tag, simple_value=float(value)), step)

    def image(self, tag: str, rgb: np.ndarray, step: int) -> None:
        """``rgb`` (H, W, 3) uint8."""
        from tensorboard.compat.proto import summary_pb2

        height, width = rgb.shape[:2]
        image = summary_pb2.Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=png(rgb))
        self._add(summary_pb2.Summary.Value(tag=tag, image=image), step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def png(rgb: np.ndarray) -> bytes:
    """Encodes an (H, W, 3) uint8 array as a PNG file (8-bit RGB, no filtering)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    # Every scanline starts with filter type 0.
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, width * 3)], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def confusion_image(confusion: np.ndarray, cell: int = 0) -> np.ndarray:
    """Row-normalised confusion matrix (rows = true class, columns = predicted) as an RGB image.

    White (0) to dark blue (1) per cell, a red frame around diagonal cells whose
    recall is below 50 %, one-pixel grey grid lines. Returns (H, W, 3) uint8.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    classes = confusion.shape[0]
    cell = cell or max(4, min(32, 512 // max(classes, 1)))
    totals = confusion.sum(axis=1, keepdims=True)
    rates = np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)
    white, blue = np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])
    colours = white[None, None] + rates[..., None] * (blue - white)[None, None]            # (K, K, 3)
    image = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)
    if cell >= 6:
        image[::cell, :] = 160.0
        image[:, ::cell] = 160.0
    weak = np.nonzero((np.diag(rates) < 0.5) & (totals[:, 0] > 0))[0]
    for c in weak:
        block = image[c * cell:(c + 1) * cell, c * cell:(c + 1) * cell]
        block[[0, -1], :] = (220, 30, 30)
        block[:, [0, -1]] = (220, 30, 30)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
