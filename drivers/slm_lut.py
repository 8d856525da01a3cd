"""Phase (radians) to SLM gray levels: wrap to [0, 2 pi), map through a lookup table, quantise or dither.

The LUT file is plain text: one gray value per line (line k is the gray level for phase 2 pi k / N),
or two columns ``k gray``; ``#`` starts a comment; a gray value may be fractional (a calibration knows
the response between gray levels). Without a file the map is linear over 0..255.
Two rules, both here and nowhere else (docs/decisions/0052-slm-dithering.md):
* ``"off"``: ``floor(wrapped_phase * N / 2 pi)`` picks entry k, shown for its whole phase bin;
* ``"bayer4"``/``"bayer8"``: the LUT is interpolated between its entries to a fractional gray, an ordered
  (Bayer) threshold is added and floored, so each n x n tile's mean gray is the fractional one (to 1/n^2 of
  a gray) and the zero-order phase is exact to well within a gray level (where the LUT is).
Kept free of Qt so it can be tested and reused without a display.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

TWO_PI = 2.0 * np.pi
DITHER_TILES = {"off": 0, "bayer4": 4, "bayer8": 8}  # the allowed dither settings: name -> tile side (px)


def linear_lut(levels: int = 256) -> np.ndarray:
    return np.arange(levels, dtype=np.uint8) if levels <= 256 else np.linspace(0, 255, levels).astype(np.uint8)


def lut_sha256(lut: np.ndarray) -> str:
    """The LUT's identity: sha256 of its entries as little-endian uint16 (what LUT files and corrections record);
    a LUT with fractional entries: of its entries as little-endian float64."""
    lut = np.asarray(lut)
    if np.issubdtype(lut.dtype, np.floating) and not np.array_equal(lut, np.round(lut)):
        return hashlib.sha256(lut.astype("<f8").tobytes()).hexdigest()
    return hashlib.sha256(lut.astype("<u2").tobytes()).hexdigest()


def integral_lut(values, max_gray: int) -> np.ndarray:
    """LUT entries as stored: uint8 (``max_gray`` <= 255) or uint16 when every entry is a whole gray level, else
    float64 (fractional entries, used as they are by dithering and rounded to the nearest gray without)."""
    values = np.asarray(values, np.float64)
    if np.array_equal(values, np.round(values)):
        return values.astype(np.uint8 if max_gray <= 255 else np.uint16)
    return values


def load_lut(path: str | Path, max_gray: int = 255) -> np.ndarray:
    """Read a LUT file (gray levels 0..``max_gray``: 255 for 8-bit panels, 1023 for 10-bit); uint8 when
    ``max_gray`` <= 255, else uint16, or float64 when an entry is fractional. ValueError naming the file and
    line for anything that is not a gray level."""
    path = Path(path)
    values: list[float] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.replace(",", " ").split()
        try:
            gray = float(fields[-1])
        except ValueError:
            raise ValueError(f"{path}:{number}: expected a gray level, got {raw.strip()!r}") from None
        if not 0 <= gray <= max_gray:  # also refuses nan
            raise ValueError(f"{path}:{number}: gray level {fields[-1]} is outside 0..{max_gray}")
        values.append(gray)
    if len(values) < 2:
        raise ValueError(f"{path}: a LUT needs at least 2 entries, found {len(values)}")
    return integral_lut(values, max_gray)


def wrap_phase(phase_rad: np.ndarray) -> np.ndarray:
    """Phase wrapped to [0, 2 pi)."""
    with np.errstate(invalid="ignore"):  # inf: nan, which the rules below treat as phase 0
        wrapped = np.mod(np.asarray(phase_rad, dtype=np.float64), TWO_PI)
    wrapped[wrapped >= TWO_PI] = 0.0  # mod can round up to exactly 2 pi
    return wrapped


def wrap_phase_f32(phase_rad: np.ndarray) -> np.ndarray:
    """Phase wrapped to [0, 2 pi) in float32: what the dithered rule starts from, so that showing it again
    (``SLM.current_phase_rad``) gives the same gray image bit for bit. Not finite: 0 (the floor rule's level 0)."""
    wrapped = wrap_phase(phase_rad).astype(np.float32)
    wrapped[~(wrapped.astype(np.float64) < TWO_PI)] = 0.0  # float32 can round up to 2 pi; nan, inf
    return wrapped


def phase_levels(phase_rad: np.ndarray, levels: int) -> np.ndarray:
    """The undithered rounding rule of every SLM: ``floor(wrapped_phase * levels / 2 pi)`` in 0..levels-1."""
    index = np.floor(wrap_phase(phase_rad) * (levels / TWO_PI)).astype(np.int64)
    np.clip(index, 0, levels - 1, out=index)
    return index


def level_phases_f32(levels: np.ndarray, count: int) -> np.ndarray:
    """The phase of each level, ``level * 2 pi / count``, in float32, one float32 step higher where rounding
    put it below its level's bin, so that ``phase_levels`` reads every one back as the same level."""
    levels = np.asarray(levels)
    phase = (levels * (TWO_PI / count)).astype(np.float32)
    low = phase_levels(phase, count) < levels
    phase[low] = np.nextafter(phase[low], np.float32(np.inf))
    return phase


def gray_dtype(gray_max: int):
    return np.uint8 if gray_max <= 255 else np.uint16


def default_gray_max(lut: np.ndarray) -> int:
    """255 for a LUT of 8-bit gray levels, else 1023 (a 10-bit panel)."""
    return 255 if float(np.max(lut)) <= 255 else 1023


def gray_of_levels(lut: np.ndarray, levels: np.ndarray, gray_max: int) -> np.ndarray:
    """The undithered gray image: entry ``levels`` of the LUT, a fractional entry rounded to the nearest gray."""
    lut = np.asarray(lut)
    if np.issubdtype(lut.dtype, np.floating):
        lut = np.clip(np.floor(lut + 0.5), 0, gray_max)
    return np.ascontiguousarray(lut[levels], dtype=gray_dtype(gray_max))


def bayer_thresholds(side: int) -> np.ndarray:
    """The ordered-dither thresholds of a ``side`` x ``side`` Bayer matrix (side a power of 2): (M + 1/2) / side^2
    for its index matrix M, so a fraction t of a gray turns round(t side^2) pixels of each tile up by one."""
    index = np.zeros((1, 1), np.int64)
    while index.shape[0] < side:
        index = np.block([[4 * index, 4 * index + 2], [4 * index + 3, 4 * index + 1]])
    if index.shape[0] != side:
        raise ValueError(f"a Bayer tile side must be a power of 2 (got {side})")
    return (index + 0.5) / float(side * side)


def fractional_gray(phase_rad: np.ndarray, lut: np.ndarray, gray_max: int) -> np.ndarray:
    """The LUT read between its entries: entry k at phase 2 pi k / N (its definition), linear in between; past the
    last entry it runs on to the gray for 2 pi, extrapolated along the LUT's last n/32 entries (at least one) and
    kept inside 0..``gray_max``. Phase 0 is entry 0 exactly: no retardance near 2 pi for phases near 0."""
    n = len(lut)
    values = np.asarray(lut, np.float64)
    span = max(1, n // 32)
    beyond = float(np.clip(values[-1] + (values[-1] - values[-1 - span]) / span, 0.0, gray_max))
    nodes = np.append(values, beyond)  # node k at position k; node n: the gray for 2 pi
    position = wrap_phase(phase_rad) * (n / TWO_PI)  # in [0, n)
    k = np.minimum(position.astype(np.int64), n - 1)  # floor (position >= 0)
    position -= k  # the fraction of the way to the next node
    position *= np.diff(nodes)[k]
    position += nodes[k]
    return np.clip(position, 0.0, gray_max, out=position)


def dithered_gray(phase_rad: np.ndarray, lut: np.ndarray, gray_max: int, side: int) -> np.ndarray:
    """Fractional gray plus the Bayer threshold of each pixel's place in its tile (from pixel (0, 0)), floored."""
    gray = fractional_gray(phase_rad, lut, gray_max)
    thresholds = bayer_thresholds(side)
    h, w = gray.shape[-2:]
    tiled = np.tile(thresholds, (-(-h // side), -(-w // side)))[:h, :w]
    gray += tiled
    np.floor(gray, out=gray)
    np.clip(gray, 0.0, gray_max, out=gray)
    return np.ascontiguousarray(gray, dtype=gray_dtype(gray_max))


def check_dither(dither: str) -> str:
    if dither not in DITHER_TILES:
        raise ValueError(f"dither must be one of {', '.join(map(repr, DITHER_TILES))} (got {dither!r})")
    return dither


def phase_to_gray(phase_rad: np.ndarray, lut: np.ndarray, *, dither: str = "off",
                  gray_max: int | None = None) -> np.ndarray:
    """The gray image of every SLM for ``phase_rad`` through ``lut``: uint8 (``gray_max`` <= 255) or uint16.
    ``dither`` "off": the floor rule; "bayer4"/"bayer8": ordered dithering of the interpolated LUT (the dithered
    rule starts from the float32-wrapped phase, see :func:`wrap_phase_f32`)."""
    gray_max = default_gray_max(lut) if gray_max is None else int(gray_max)
    side = DITHER_TILES[check_dither(dither)]
    if side == 0:
        return gray_of_levels(lut, phase_levels(phase_rad, len(lut)), gray_max)
    return dithered_gray(wrap_phase_f32(phase_rad), lut, gray_max, side)
