"""Maps reduced to a figure's resolution by block averaging, the way a coarser camera would see them.

A figure shows a 1024 x 1024 map in a few hundred screen pixels; drawing every pixel only to have the
renderer drop or blur most of them costs time and, with nearest sampling, shows noise of single
pixels as if it were the map. Here each k x k block of the map becomes one shown value: the mean of
its valid pixels (wrapped phase: the direction of the mean unit phasor, so that -pi and pi average
to pi, not 0; the complex view: the mean complex transmission). A block counts as valid, and is
shown, when at least half of its pixels inside the map are valid; blocks at the right and bottom
edge may be partial (they average the pixels that exist). numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def block_factor(shape: tuple[int, ...], target_px: float) -> int:
    """k such that the reduced map is at least ``target_px`` on its longer side (1: shown as it is)."""
    return max(1, int(max(shape[:2]) // max(1.0, target_px)))


def _block_sums(values: np.ndarray, k: int) -> np.ndarray:
    """Sum of each k x k block as float32 (blocks at the right and bottom edge may be partial).

    Summed as k strided slices per axis: whole-array adds, much quicker than a reduction over a short
    inner axis."""
    h, w = values.shape
    nh, nw = -(-h // k), -(-w // k)
    if (nh * k, nw * k) != (h, w):
        padded = np.zeros((nh * k, nw * k), values.dtype)
        padded[:h, :w] = values
        values = padded
    cols = values[:, 0::k].astype(np.float32)
    for j in range(1, k):
        cols += values[:, j::k]
    sums = cols[0::k].copy()
    for i in range(1, k):
        sums += cols[i::k]
    return sums


def _pixels_inside(shape: tuple[int, int], k: int) -> np.ndarray:
    """Pixels of the map in each k x k block (k * k but at the right and bottom edge)."""
    sizes = [np.minimum(k, n - np.arange(0, n, k)).astype(np.float32) for n in shape]
    return np.multiply.outer(*sizes)


@dataclass(frozen=True)
class Blocks:
    """How a map of ``shape`` is reduced: block size ``k`` and which blocks are valid."""

    shape: tuple[int, int]
    k: int
    valid: np.ndarray | None  # per block: at least half its pixels inside the map valid (None: all valid)

    @classmethod
    def of(cls, shape: tuple[int, int], k: int, valid: np.ndarray | None) -> Blocks:
        shape = (int(shape[0]), int(shape[1]))
        if valid is None or k == 1:
            return cls(shape, k, None if valid is None else np.asarray(valid, bool))
        return cls(shape, k, _block_sums(np.asarray(valid, np.float32), k) >= 0.5 * _pixels_inside(shape, k))

    def mean(self, data: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
        """Block means of ``data`` over its valid finite pixels (float32; NaN where a block has none)."""
        data = np.asarray(data, np.float32)
        if self.k == 1:
            return data
        good = np.isfinite(data) if valid is None else np.isfinite(data) & valid
        sums = _block_sums(np.where(good, data, np.float32(0)), self.k)
        counts = _block_sums(good.astype(np.float32), self.k)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts).astype(np.float32)

    def phase_mean(self, phase_rad: np.ndarray, valid: np.ndarray | None, weight: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(direction, length) of the block means of ``weight * exp(i phase)`` (weight 1 by default).

        Direction is the block's mean phase in -pi..pi (NaN where no valid pixel); length is the mean
        amplitude of the complex values (the block's mean complex transmission when ``weight`` is the
        amplitude), float32."""
        phase = np.asarray(phase_rad, np.float32)
        if self.k == 1:
            amp = np.ones_like(phase) if weight is None else np.asarray(weight, np.float32)
            return phase, amp
        good = np.isfinite(phase) if valid is None else np.isfinite(phase) & valid
        w = np.float32(1) if weight is None else np.nan_to_num(np.asarray(weight, np.float32), nan=0.0)
        if weight is not None:
            good &= np.isfinite(np.asarray(weight, np.float32))
        re = _block_sums(np.where(good, w * np.cos(phase), np.float32(0)), self.k)
        im = _block_sums(np.where(good, w * np.sin(phase), np.float32(0)), self.k)
        counts = _block_sums(good.astype(np.float32), self.k)
        with np.errstate(invalid="ignore", divide="ignore"):
            direction = np.where(counts > 0, np.arctan2(im, re), np.nan).astype(np.float32)
            length = (np.hypot(re, im) / counts).astype(np.float32)
        return direction, length

    @property
    def reduced_shape(self) -> tuple[int, int]:
        """Shape of the reduced map: one value per (possibly partial) k x k block."""
        return -(-self.shape[0] // self.k), -(-self.shape[1] // self.k)

    def extent(self) -> tuple[float, float, float, float]:
        """imshow extent of the reduced map in the full map's pixel coordinates (may pass the edge by
        less than one block; the axes limits stop at the map's edge)."""
        nh, nw = self.reduced_shape
        return (-0.5, nw * self.k - 0.5, nh * self.k - 0.5, -0.5)
