"""A tiny PNG writer (zlib + the PNG chunk format), so the demo's plots need no imaging library."""

from __future__ import annotations

import struct
import zlib
from typing import Sequence


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def line_plot(series: Sequence[Sequence[float]], width: int = 320, height: int = 200) -> bytes:
    """An RGB PNG of one or more curves on a white background (one colour each)."""
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
    pixels = [[(255, 255, 255)] * width for _ in range(height)]
    values = [v for curve in series for v in curve] or [0.0]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    for index, curve in enumerate(series):
        colour = colours[index % len(colours)]
        count = max(len(curve) - 1, 1)
        for i, value in enumerate(curve):
            x = int(i * (width - 1) / count)
            y = height - 1 - int((value - low) / span * (height - 1))
            for dy in (-1, 0, 1):
                if 0 <= y + dy < height:
                    pixels[y + dy][x] = colour
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b""))
