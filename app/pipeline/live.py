"""Live (rolling) demodulation: maps from the latest frame of each of the last N steps, on every frame.

Keeps the latest frame per step (its integer values) and running float32 maps C = sum cos(theta_k) a_k,
S = sum sin(theta_k) a_k, M = sum a_k. A new frame at step k changes them by (new - old) times
(cos, sin, 1): one fused pass, O(1) in N. Every ``resync_every`` frames they are recomputed exactly
from the stored frames, so float32 rounding cannot drift. Uses the equal-step closed form (a preview;
the final maps come from the exact sums and least squares).
"""

from __future__ import annotations

import numpy as np

from app.pipeline import _kernels
from app.pipeline.demodulate import FringeMaps, equal_step_phases_rad


class RollingDemodulator:
    """Visibility/phase/mean maps over the last frame of each step, updated per frame without allocation."""

    def __init__(self, n_steps: int, shape: tuple[int, int], *, step_phases_rad: np.ndarray | None = None,
                 dark_adu: np.ndarray | float = 0.0, frame_dtype=np.uint16, resync_every: int = 1024):
        if n_steps < 3:
            raise ValueError(f"phase stepping needs at least 3 steps, got {n_steps}")
        self.n_steps = n_steps
        self.shape = tuple(shape)
        theta = equal_step_phases_rad(n_steps) if step_phases_rad is None else np.asarray(step_phases_rad, float)
        self.cos = np.cos(theta)
        self.sin = np.sin(theta)
        self.last = np.zeros((n_steps, *self.shape), dtype=frame_dtype)
        self.seen = np.zeros(n_steps, dtype=bool)
        self.c_map = np.zeros(self.shape, np.float32)
        self.s_map = np.zeros(self.shape, np.float32)
        self.m_map = np.zeros(self.shape, np.float32)
        dark = np.broadcast_to(np.asarray(dark_adu, np.float32), self.shape)
        # dark contributes dark * (sum cos, sum sin, N) to (C, S, M): removed when maps are formed
        self._dark_c = (dark * np.float32(self.cos.sum())).astype(np.float32)
        self._dark_s = (dark * np.float32(self.sin.sum())).astype(np.float32)
        self._dark_m = (dark * np.float32(n_steps)).astype(np.float32)
        self.resync_every = resync_every
        self.frames_pushed = 0
        self._out = {name: np.zeros(self.shape, np.float32) for name in ("visibility", "phase", "mean", "c", "s")}
        self._lit = np.zeros(self.shape, bool)

    @property
    def ready(self) -> bool:
        """True once every step has had a frame."""
        return bool(self.seen.all())

    def push(self, step: int, frame: np.ndarray) -> None:
        """Replace step ``step``'s frame with ``frame`` and update C, S, M in place."""
        if frame.shape != self.shape:
            raise ValueError(f"frame shape {frame.shape} does not match live shape {self.shape}")
        _kernels.replace_and_update(self.last[step], frame, self.c_map, self.s_map, self.m_map,
                                    self.cos[step], self.sin[step])
        self.seen[step] = True
        self.frames_pushed += 1
        if self.frames_pushed % self.resync_every == 0:
            self.resync()

    def resync(self) -> None:
        """Recompute C, S, M exactly (float64) from the stored frames."""
        frames = self.last.astype(np.float64)
        self.c_map[...] = np.tensordot(self.cos, frames, axes=1)
        self.s_map[...] = np.tensordot(self.sin, frames, axes=1)
        self.m_map[...] = frames.sum(axis=0)

    def maps(self) -> FringeMaps:
        """Current visibility, phase and mean (float32 views reused between calls; copy to keep them)."""
        c, s, out = self._out["c"], self._out["s"], self._out
        vis, mean, phase = out["visibility"], out["mean"], out["phase"]
        np.subtract(self.c_map, self._dark_c, out=c)
        np.subtract(self.s_map, self._dark_s, out=s)
        np.subtract(self.m_map, self._dark_m, out=mean)  # M = sum over steps for now
        np.arctan2(np.negative(s, out=phase), c, out=phase)
        np.multiply(c, c, out=c)  # sqrt(C^2 + S^2): float32 hypot has no SIMD loop, this does
        np.multiply(s, s, out=s)
        np.add(c, s, out=c)
        np.sqrt(c, out=c)
        vis[...] = 0.0
        np.divide(c, mean, out=vis, where=np.greater(mean, 0, out=self._lit))
        vis *= np.float32(2.0)
        mean /= np.float32(self.n_steps)
        return FringeMaps(visibility=vis, phase_rad=phase, mean=mean)
