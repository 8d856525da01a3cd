"""Exact per-step sums of one stage: a fixed base plus the pipeline's live accumulator.

The base holds what the accumulator cannot be given directly: the sums read back from disk when a run
resumes, and the sums left after a discarded (suspended) cycle was subtracted. Integers throughout.
"""

from __future__ import annotations

import numpy as np

from app.pipeline import StepAccumulator


class StageSums:
    def __init__(self, n_steps: int, shape: tuple[int, int], base_sums: np.ndarray | None = None,
                 base_counts: np.ndarray | None = None, *, saturation_adu: int | None = None):
        self.n_steps, self.shape, self.saturation_adu = n_steps, tuple(shape), saturation_adu
        self._base = None if base_sums is None else np.asarray(base_sums, dtype=np.uint64)
        self._base_counts = np.zeros(n_steps, np.int64) if base_counts is None else np.asarray(base_counts, np.int64)
        self._acc = StepAccumulator(n_steps, self.shape, saturation_adu=saturation_adu)

    def add(self, step: int, frame: np.ndarray) -> None:
        self._acc.add(step, frame)

    @property
    def saturated(self) -> np.ndarray:
        """(h, w) bool: any frame of this session at the ADC maximum (not known for resumed sums)."""
        return self._acc.saturated

    @property
    def counts(self) -> np.ndarray:
        return self._base_counts + self._acc.counts

    @property
    def sums(self) -> np.ndarray:
        live = self._acc.sums
        return live if self._base is None else self._base + live

    def step_sum(self, step: int) -> np.ndarray:
        live = self._acc.sums[step]
        return live if self._base is None else self._base[step] + live

    def subtract(self, cycle: StepAccumulator) -> None:
        """Remove a cycle's frames exactly (they were added here as well as to ``cycle``)."""
        self._base = self.sums.astype(np.uint64) - cycle.sums.astype(np.uint64)
        self._base_counts = self.counts - cycle.counts
        saturated = self.saturated
        self._acc = StepAccumulator(self.n_steps, self.shape, saturation_adu=self.saturation_adu)
        self._acc.saturated |= saturated

    def mean_frames(self, dark: np.ndarray | float = 0.0) -> np.ndarray:
        counts = self.counts
        if np.any(counts == 0):
            raise ValueError(f"steps {np.flatnonzero(counts == 0).tolist()} have no frames yet")
        return self.sums / counts[:, None, None].astype(np.float64) - dark
