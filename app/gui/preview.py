"""Preview maps while a run accumulates, and the fringe-quality numbers the GUI shows for an ROI.

Qt-free numpy. :class:`PreviewAccumulator` keeps running integer sums per phase step of the stage being
taken (fed from frame events on the runner's thread, one add per frame); :func:`preview_maps` turns a
snapshot of them into visibility, phase and sigma_phase with the pipeline's own demodulation and
uncertainty equations. The running GUI takes visibility/phase/sigma from the core's ``runner.latest_maps()``
and keeps this accumulator only for the per-step means and drift the core does not publish.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from app.pipeline.demodulate import complex_field, demodulate
from app.pipeline.uncertainty import sigma_maps


@dataclass(frozen=True)
class PreviewMaps:
    """Maps of one stage from the frames so far; ``sigma_phase_rad`` None without a known gain."""

    stage: str
    kind: str
    visibility: np.ndarray | None
    phase_rad: np.ndarray | None
    sigma_phase_rad: np.ndarray | None
    mean_adu: np.ndarray  # per frame, above dark when a dark is known
    step_means_adu: np.ndarray | None  # (N, h, w), above dark
    step_phases_rad: tuple[float, ...]
    frames_per_step: int  # the fewest frames any step has so far
    frames_per_step_planned: int
    drift_rad_per_s: float | None  # global phase drift in the ROI over the completed cycles
    dark_subtracted: bool


CYCLE_BLOCKS_MAX = 128  # a completed cycle is kept as block sums, at most this many blocks per side


@dataclass
class _Cycle:
    """One completed cycle for the drift meter: per-step sums over ``block_px`` x ``block_px`` blocks."""

    time_s: float
    sums: np.ndarray
    counts: np.ndarray
    block_px: int = 1


def cycle_block_px(shape: tuple[int, int]) -> int:
    """Block size that keeps a cycle record at <= CYCLE_BLOCKS_MAX blocks per side (1 for small frames)."""
    return max(1, math.ceil(max(shape) / CYCLE_BLOCKS_MAX))


def block_sums(frames: np.ndarray, block_px: int) -> np.ndarray:
    """Sum over block_px x block_px blocks of the last two axes (edge blocks sum the pixels they have)."""
    if block_px == 1:
        return frames
    *lead, h, w = frames.shape
    bh, bw = -(-h // block_px), -(-w // block_px)
    if (bh * block_px, bw * block_px) != (h, w):
        padded = np.zeros((*lead, bh * block_px, bw * block_px), frames.dtype)
        padded[..., :h, :w] = frames
        frames = padded
    total = np.uint64 if np.issubdtype(frames.dtype, np.integer) else np.float64
    return frames.reshape(*lead, bh, block_px, bw, block_px).sum(axis=(-3, -1), dtype=total)


def block_roi(roi: tuple[slice, slice], block_px: int) -> tuple[slice, slice]:
    """The blocks that overlap a pixel ROI (bounded slices)."""
    return tuple(slice((s.start or 0) // block_px, None if s.stop is None else -(-s.stop // block_px)) for s in roi)


class PreviewAccumulator:
    """Running per-step sums of the current stage of a plan; ``add`` from the runner thread.

    A cycle discarded by a suspender stays in the preview (the final maps come from the run's sums).
    Completed cycles (for the drift meter only) are kept as block sums (:func:`cycle_block_px`): 64 cycles
    of 8 steps at 1024 x 1024 hold 8 MB, not the 4 GB that full-frame sums would."""

    def __init__(self, plan):
        self._stages = {s.label: s for s in plan.stages}
        self._lock = threading.Lock()
        self._label: str | None = None
        self._sums = self._cycle_sums = None
        self._counts = self._cycle_counts = np.zeros(0, np.int64)
        self._cycle, self._cycle_time_s = -1, 0.0
        self._block_px = 1
        self._dark: np.ndarray | None = None
        self._cycles: deque[_Cycle] = deque(maxlen=64)  # completed cycles of the current stage (bounded)
        self.version = 0

    def add(self, frame: np.ndarray, info) -> None:
        stage = self._stages.get(info.stage)
        if stage is None:
            return
        with self._lock:
            if info.stage != self._label:
                self._enter(stage, frame.shape)
            if info.cycle != self._cycle:
                self._close_cycle()
                self._cycle = info.cycle
            self._sums[info.step] += frame
            self._counts[info.step] += 1
            self._cycle_sums[info.step] += block_sums(frame, self._block_px)
            self._cycle_counts[info.step] += 1
            self._cycle_time_s = float(info.timestamp_s)
            self.version += 1

    def _enter(self, stage, shape) -> None:
        old = self._stages.get(self._label) if self._label else None
        if old is not None and old.kind == "dark" and self._counts[0] > 0:
            self._dark = self._sums[0] / self._counts[0]
        self._label = stage.label
        n = stage.n_steps
        self._sums = np.zeros((n, *shape), np.uint64)
        self._block_px = cycle_block_px(shape)
        self._cycle_sums = block_sums(np.zeros((n, *shape), np.uint64), self._block_px)
        self._counts = np.zeros(n, np.int64)
        self._cycle_counts = np.zeros(n, np.int64)
        self._cycle = -1
        self._cycles.clear()

    def _close_cycle(self) -> None:
        if self._cycle_counts.size and self._cycle_counts.all():
            self._cycles.append(_Cycle(self._cycle_time_s, self._cycle_sums.copy(), self._cycle_counts.copy(),
                                       self._block_px))
        if self._cycle_sums is not None:
            self._cycle_sums[...] = 0
        self._cycle_counts[...] = 0

    def snapshot(self):
        """(stage, sums copy, counts copy, dark, completed cycles) or None before the first frame."""
        with self._lock:
            if self._label is None:
                return None
            return (self._stages[self._label], self._sums.copy(), self._counts.copy(), self._dark,
                    list(self._cycles))


def preview_maps(snapshot, *, gain_e_per_adu: float | None, read_noise_e: float | None,
                 roi: tuple[slice, slice] | None = None, fringe_maps: bool = True) -> PreviewMaps | None:
    """Demodulate a snapshot (as the final analysis would, from the exact sums so far).

    ``fringe_maps=False``: only the per-step means and the drift (the GUI takes visibility, phase and
    sigma_phase from the core's ``runner.latest_maps()``, and needs these for its fringe-quality meter)."""
    if snapshot is None:
        return None
    stage, sums, counts, dark, cycles = snapshot
    seen = counts > 0
    if not seen.any():
        return None
    means = np.zeros(sums.shape, np.float64)
    means[seen] = sums[seen] / counts[seen, None, None]
    if dark is not None:
        means[seen] -= dark
    mean = means[seen].mean(axis=0)
    base = dict(stage=stage.label, kind=stage.kind, mean_adu=mean.astype(np.float32), step_phases_rad=stage.step_phases_rad,
                frames_per_step=int(counts.min()), frames_per_step_planned=stage.frames_per_step,
                dark_subtracted=dark is not None)
    if stage.kind in ("dark", "sweep") or stage.n_steps < 3 or not seen.all():
        return PreviewMaps(visibility=None, phase_rad=None, sigma_phase_rad=None, step_means_adu=None,
                           drift_rad_per_s=None, **base)
    if not fringe_maps:
        return PreviewMaps(visibility=None, phase_rad=None, sigma_phase_rad=None, step_means_adu=means.astype(np.float32),
                           drift_rad_per_s=cycle_drift_rad_per_s(cycles, dark, stage.step_phases_rad, roi), **base)
    fm = demodulate(means, np.asarray(stage.step_phases_rad))
    sigma = None
    if gain_e_per_adu and dark is not None:
        sigma = sigma_maps(fm.mean, fm.visibility, int(counts.sum()), gain_e_per_adu=gain_e_per_adu,
                           read_noise_e=read_noise_e or 0.0).sigma_phase_rad.astype(np.float32)
    drift = cycle_drift_rad_per_s(cycles, dark, stage.step_phases_rad, roi)
    return PreviewMaps(visibility=fm.visibility.astype(np.float32), phase_rad=fm.phase_rad.astype(np.float32),
                       sigma_phase_rad=sigma, step_means_adu=means.astype(np.float32), drift_rad_per_s=drift, **base)


def finite_mean(values: np.ndarray) -> float:
    """Mean of the finite values (the core's maps are NaN where masked); NaN, silently, when there are none."""
    finite = np.asarray(values)[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def cycle_drift_rad_per_s(cycles, dark, step_phases_rad, roi=None) -> float | None:
    """Slope of the ROI's global phase over completed cycles (least-squares line, phases unwrapped).

    The cycles hold block sums; the ROI is widened to the blocks it overlaps and the dark is summed alike."""
    if len(cycles) < 3:
        return None
    block_px = cycles[0].block_px
    roi = block_roi(roi or (slice(None), slice(None)), block_px)
    dark_blocks = None if dark is None else block_sums(np.asarray(dark, np.float64), block_px)[roi]
    first = None
    times, phases = [], []
    for cyc in cycles:
        means = cyc.sums[(slice(None), *roi)] / cyc.counts[:, None, None]
        if dark_blocks is not None:
            means = means - dark_blocks
        field = complex_field(means, np.asarray(step_phases_rad))
        if first is None:
            first = field
        times.append(cyc.time_s)
        phases.append(np.angle(np.vdot(first, field)))
    t = np.asarray(times)
    if np.ptp(t) <= 0:
        return None
    return float(np.polyfit(t, np.unwrap(phases), 1)[0])


def achieved_step_rad(step_means_adu: np.ndarray) -> float | None:
    """The phase step alpha actually taken between consecutive steps, from the ROI's mean frame per step.

    Carre's relation for equal steps: for four consecutive steps
    (I_k - I_k+3) / (I_k+1 - I_k+2) = sin(3 alpha / 2) / sin(alpha / 2) = 1 + 2 cos(alpha),
    fitted by least squares over every pixel of the ROI and every run of four steps. Independent of
    the fringe phase and amplitude per pixel; unequal steps give their mean. None with fewer than four
    steps or no fringe signal. (With four steps, unequal step phases cannot be told apart from the
    per-pixel fringe parameters, so the equal-step model is the one that can be measured.)
    """
    frames = np.asarray(step_means_adu, np.float64)
    n = frames.shape[0]
    if n < 4:
        return None
    num = den = 0.0
    for k in range(n - 3):
        outer = frames[k] - frames[k + 3]
        inner = frames[k + 1] - frames[k + 2]
        num += float(np.sum(outer * inner))
        den += float(np.sum(inner * inner))
    if den <= 0:
        return None
    cos_alpha = (num / den - 1.0) / 2.0
    return float(np.arccos(np.clip(cos_alpha, -1.0, 1.0)))


def frames_to_reach(sigma_now_rad: float, frames_per_step: int, target_rad: float, n_steps: int) -> int:
    """More frames (all steps) until sigma_phase falls to ``target_rad``, from sigma ~ 1 / sqrt(N)."""
    if not (math.isfinite(sigma_now_rad) and sigma_now_rad > 0 and target_rad > 0 and frames_per_step > 0):
        raise ValueError("need a finite sigma_phase, a positive target and at least one frame per step")
    if sigma_now_rad <= target_rad:
        return 0
    needed = math.ceil(frames_per_step * (sigma_now_rad / target_rad) ** 2)
    return (needed - frames_per_step) * n_steps


def roi_visibility(step_or_frame: np.ndarray) -> float:
    """Michelson contrast (max - min) / (max + min) of the ROI's 2nd-98th percentile (a single frame)."""
    lo, hi = np.percentile(step_or_frame, [2, 98])
    return float((hi - lo) / (hi + lo)) if hi + lo > 0 else 0.0
