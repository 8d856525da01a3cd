"""PNG files from rendered pixels, written quickly: no row filters, zlib's fastest level (stdlib only).

The quick-look figures are mostly flat colour: zlib alone at level 1 compresses them as well as
Pillow's adaptive row filters do (the 1716 x 930 overview page: 555 kB against 569 kB) in a third of
the time (24 ms against 72 ms), and zlib lets other threads run meanwhile. An opaque image (every
alpha 255, as a rendered figure is) is written as RGB.
"""

from __future__ import annotations

import struct
import zlib
import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
INCHES_PER_METRE = 1 / 0.0254


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(pixels: np.ndarray, *, dpi: float | None = None, text: dict[str, str] | None = None) -> bytes:
    """The PNG file of ``pixels`` ((h, w, 3) RGB or (h, w, 4) RGBA, uint8); ``dpi`` is recorded (pHYs)
    so the figure prints at its size; ``text``: tEXt entries (Latin-1)."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"PNG pixels must be (h, w, 3 or 4) uint8, got {pixels.shape} {pixels.dtype}")
    if pixels.shape[2] == 4 and (pixels[..., 3] == 255).all():
        pixels = pixels[..., :3]
    h, w, channels = pixels.shape
    rows = np.zeros((h, 1 + w * channels), np.uint8)  # each row: filter type 0 (none), then its bytes
    rows[:, 1:] = pixels.reshape(h, w * channels)
    parts = [SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2 if channels == 3 else 6, 0, 0, 0))]
    if dpi:
        per_metre = round(dpi * INCHES_PER_METRE)
        parts.append(_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    for key, value in (text or {}).items():
        parts.append(_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1", "replace")))
    parts += [_chunk(b"IDAT", zlib.compress(rows, 1)), _chunk(b"IEND", b"")]
    return b"".join(parts)

