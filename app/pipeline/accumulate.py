"""Exact integer accumulation of camera frames per phase step (DESIGN.md section 5).

Per step k: a uint32 sum S_k and a count n_k. The hot path adds each 8/16-bit frame into a uint16
*staging* sum of the current step (one fused SIMD pass: wrap-around add + frame maximum), which is
drained into the step's uint32 sum when the step changes or before it could overflow (tracked by
an exact bound, the sum of the staged frames' maxima; a frame that overflows anyway is undone exactly
by modular subtraction). The staging buffer is half the size of a uint32 sum, so it stays in cache
and ingest runs close to memcpy speed. Promotion is flush-to-wider: each step's uint32 sum carries an
exact bound too, and before it could overflow it is moved into a uint64 spill (allocated the first
time only). Memory: 4N + 2 (staging) + 1 (saturation flags) bytes per pixel, + 8N after a spill.
Dark is subtracted once, at the end, from the means. See docs/decisions/0020-pipeline-accumulation.md.
"""

from __future__ import annotations

import numpy as np

from app.pipeline import _kernels

UINT32_MAX = int(np.iinfo(np.uint32).max)
UINT16_MAX = int(np.iinfo(np.uint16).max)


class StepAccumulator:
    """Per-step integer sums S_k, frame counts n_k and a saturation mask, for frames of one shape."""

    def __init__(self, n_steps: int, shape: tuple[int, int], *, max_frame_value: int = 65535,
                 saturation_adu: int | None = None, jit: bool = True):
        """``saturation_adu``: the ADC maximum (default: the frame dtype's maximum, 65535 for uint16).

        ``jit``: numba kernels (fastest per frame; loading them costs ~0.6 s once per process) or the
        numpy ones (no start-up cost, ~3x slower per frame); the sums are the same exact integers.

        ``max_frame_value`` is kept for compatibility; promotion uses the frames' measured maxima and
        their dtype's range, which is exact whatever the caller claims.
        """
        if n_steps < 1:
            raise ValueError(f"need at least one step, got {n_steps}")
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"frame shape must be (h, w) with h, w >= 1, got {tuple(shape)}")
        self.n_steps = int(n_steps)
        self.shape = (int(shape[0]), int(shape[1]))
        self.max_frame_value = int(max_frame_value)
        self.saturation_adu = None if saturation_adu is None else int(saturation_adu)
        self._sums32 = np.zeros((self.n_steps, *self.shape), dtype=np.uint32)
        self._wide: np.ndarray | None = None  # uint64 spill, allocated at the first flush
        self._bound = [0] * self.n_steps  # exact upper bound of each step's uint32 partial sum
        self._stage = np.zeros(self.shape, dtype=np.uint16)
        self._stage_step: int | None = None
        self._stage_bound = 0  # exact upper bound of the staged sum
        self._last_max = 0
        self.counts = np.zeros(self.n_steps, dtype=np.int64)
        self.saturated = np.zeros(self.shape, dtype=bool)
        self.saturated_frames = 0
        self.max_adu = 0
        self._k = _kernels.kernels(jit)

    # -- ingest ------------------------------------------------------------------------------------
    def add(self, step: int, frame: np.ndarray) -> None:
        """Add one unsigned-integer frame (any ROI view) to step ``step``; no allocation on the hot path."""
        if frame.shape != self.shape:
            raise ValueError(f"frame shape {frame.shape} does not match accumulator shape {self.shape}")
        if frame.dtype.kind != "u":
            raise ValueError(f"frames must be unsigned integers (uint8/uint16), got {frame.dtype}")
        if not 0 <= step < self.n_steps:
            raise ValueError(f"step {step} outside 0..{self.n_steps - 1}")
        dtype_max = int(np.iinfo(frame.dtype).max)
        if dtype_max > UINT32_MAX:
            raise ValueError(f"frames of {frame.dtype} do not fit a uint32 accumulator")
        if self._stage_step is not None and (self._stage_step != step or self._stage_bound + self._last_max > UINT16_MAX):
            self._drain_stage()
        if dtype_max > UINT16_MAX or 2 * self._last_max > UINT16_MAX:
            frame_max = self._add_wide(step, frame, dtype_max)  # bright or 32-bit frames: staging cannot help
        else:
            frame_max = self._k.add_frame(self._stage, frame)
            if self._stage_bound + frame_max > UINT16_MAX:  # it wrapped: undo exactly, add it directly
                self._k.subtract_frame(self._stage, frame)
                self._drain_stage()
                self._add_wide(step, frame, dtype_max)
            else:
                self._stage_bound += frame_max
                self._stage_step = step
        self._last_max = frame_max
        self.counts[step] += 1
        self.max_adu = max(self.max_adu, frame_max)
        level = dtype_max if self.saturation_adu is None else self.saturation_adu
        if frame_max >= level:
            self._k.mark_at_or_above(self.saturated, frame, level)
            self.saturated_frames += 1

    def _add_wide(self, step: int, frame: np.ndarray, dtype_max: int) -> int:
        if self._bound[step] + dtype_max > UINT32_MAX:
            self._flush(step)
        frame_max = self._k.add_frame(self._sums32[step], frame)
        self._bound[step] += frame_max
        return frame_max

    def _drain_stage(self) -> None:
        """Move the staged uint16 sum into its step's uint32 sum (spilling that to uint64 first if needed)."""
        step = self._stage_step
        if step is None:
            return
        if self._bound[step] + self._stage_bound > UINT32_MAX:
            self._flush(step)
        self._k.drain_into(self._sums32[step], self._stage)
        self._bound[step] += self._stage_bound
        self._stage_bound = 0
        self._stage_step = None

    def _flush(self, step: int) -> None:
        """Move step ``step``'s uint32 partial sum into the uint64 spill (exact promotion)."""
        if self._wide is None:
            self._wide = np.zeros((self.n_steps, *self.shape), dtype=np.uint64)
        np.add(self._wide[step], self._sums32[step], out=self._wide[step])
        self._sums32[step] = 0
        self._bound[step] = 0

    # -- results -----------------------------------------------------------------------------------
    @property
    def sums(self) -> np.ndarray:
        """(N, h, w) exact integer sums: the live uint32 array, or uint64 once any step was promoted."""
        self._drain_stage()
        if self._wide is None:
            return self._sums32
        return self._wide + self._sums32

    def mean_frames(self, dark: np.ndarray | float = 0.0) -> np.ndarray:
        """(N, h, w) float64 mean frame of each step minus dark (ADU)."""
        if np.any(self.counts == 0):
            missing = [int(k) for k in np.flatnonzero(self.counts == 0)]
            raise ValueError(f"steps {missing} have no frames yet")
        means = self.sums / self.counts[:, None, None].astype(np.float64)
        return means - dark

    def total_frames(self) -> int:
        return int(self.counts.sum())

    def nbytes_per_pixel(self) -> float:
        """Accumulator memory per pixel in bytes (sums, staging, saturation flags, spill if allocated)."""
        arrays = (self._sums32, self._stage, self.saturated) + (() if self._wide is None else (self._wide,))
        return sum(a.nbytes for a in arrays) / (self.shape[0] * self.shape[1])


def mean_frame(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The mean frame over all steps of a run (e.g. the dark frame), float64 ADU."""
    total = int(np.sum(counts))
    if total == 0:
        raise ValueError("no frames to average")
    mean = np.sum(sums, axis=0, dtype=np.float64)
    mean /= total
    return mean
