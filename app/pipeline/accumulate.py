"""Exact integer accumulation of camera frames per phase step (DESIGN.md section 5).

Sums are uint32 and promoted to uint64 before they could overflow; adding a frame allocates nothing.
Dark is subtracted once, at the end, from the mean.
"""

from __future__ import annotations

import numpy as np


class StepAccumulator:
    """Per-step integer sums S_k and frame counts n_k for frames of one shape."""

    def __init__(self, n_steps: int, shape: tuple[int, int], *, max_frame_value: int = 65535):
        if n_steps < 1:
            raise ValueError(f"need at least one step, got {n_steps}")
        self.n_steps = n_steps
        self.shape = tuple(shape)
        self.max_frame_value = int(max_frame_value)
        self.sums = np.zeros((n_steps, *self.shape), dtype=np.uint32)
        self.counts = np.zeros(n_steps, dtype=np.int64)

    def add(self, step: int, frame: np.ndarray) -> None:
        """Add one frame to step ``step``'s sum (promoting to uint64 first if it could overflow)."""
        if frame.shape != self.shape:
            raise ValueError(f"frame shape {frame.shape} does not match accumulator shape {self.shape}")
        if self.sums.dtype == np.uint32 and (self.counts[step] + 1) * self.max_frame_value > np.iinfo(np.uint32).max:
            self.sums = self.sums.astype(np.uint64)
        np.add(self.sums[step], frame, out=self.sums[step])
        self.counts[step] += 1

    def mean_frames(self, dark: np.ndarray | float = 0.0) -> np.ndarray:
        """(N, h, w) float64 mean frame of each step minus dark; NaN for steps without frames."""
        if np.any(self.counts == 0):
            missing = [int(k) for k in np.flatnonzero(self.counts == 0)]
            raise ValueError(f"steps {missing} have no frames yet")
        means = self.sums / self.counts[:, None, None].astype(np.float64)
        return means - dark

    def total_frames(self) -> int:
        return int(self.counts.sum())
