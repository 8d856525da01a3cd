"""Phase (radians) to SLM gray levels: wrap to [0, 2 pi), quantise, map through a lookup table.

The LUT file is plain text: one gray value per line (line k is the gray level for phase 2 pi k / N),
or two columns ``k gray``; ``#`` starts a comment. Without a file the map is linear over 0..255.
Kept free of Qt so it can be tested and reused without a display.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

TWO_PI = 2.0 * np.pi


def linear_lut(levels: int = 256) -> np.ndarray:
    return np.arange(levels, dtype=np.uint8) if levels <= 256 else np.linspace(0, 255, levels).astype(np.uint8)


def lut_sha256(lut: np.ndarray) -> str:
    """The LUT's identity: sha256 of its entries as little-endian uint16 (what LUT files and corrections record)."""
    return hashlib.sha256(np.asarray(lut).astype("<u2").tobytes()).hexdigest()


def load_lut(path: str | Path, max_gray: int = 255) -> np.ndarray:
    """Read a LUT file (gray levels 0..``max_gray``: 255 for 8-bit panels, 1023 for 10-bit); uint8 when
    ``max_gray`` <= 255, else uint16. ValueError naming the file and line for anything that is not a gray level."""
    path = Path(path)
    values: list[int] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.replace(",", " ").split()
        try:
            gray = int(float(fields[-1]))
        except ValueError:
            raise ValueError(f"{path}:{number}: expected a gray level, got {raw.strip()!r}") from None
        if not 0 <= gray <= max_gray:
            raise ValueError(f"{path}:{number}: gray level {gray} is outside 0..{max_gray}")
        values.append(gray)
    if len(values) < 2:
        raise ValueError(f"{path}: a LUT needs at least 2 entries, found {len(values)}")
    return np.asarray(values, dtype=np.uint8 if max_gray <= 255 else np.uint16)


def wrap_phase(phase_rad: np.ndarray) -> np.ndarray:
    """Phase wrapped to [0, 2 pi)."""
    wrapped = np.mod(np.asarray(phase_rad, dtype=np.float64), TWO_PI)
    wrapped[wrapped >= TWO_PI] = 0.0  # mod can round up to exactly 2 pi
    return wrapped


def phase_levels(phase_rad: np.ndarray, levels: int) -> np.ndarray:
    """The one rounding rule of every SLM: ``floor(wrapped_phase * levels / 2 pi)`` in 0..levels-1."""
    index = np.floor(wrap_phase(phase_rad) * (levels / TWO_PI)).astype(np.int64)
    np.clip(index, 0, levels - 1, out=index)
    return index


def phase_to_gray(phase_rad: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """uint8 gray image: wrapped phase quantised into ``len(lut)`` levels, then looked up."""
    return np.ascontiguousarray(lut[phase_levels(phase_rad, len(lut))], dtype=np.uint8)
