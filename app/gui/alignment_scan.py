"""The coherence-alignment scan: a short "delay-scan" run around the delay stage's position, and the
fringe visibility of each delay as it completes (Qt-free; the alignment panel shows it).

The scan is the engine's own delay-scan sequence (it owns the bench, writes a run file, can be
aborted and switches the laser off at its end). :class:`AlignmentScan` listens to that run's frames
(``frame_acquired``, on the runner's thread) and keeps per-step sums over the ROI only; when a delay's
stage is done it demodulates them with the pipeline's fringe fit and publishes the point to a
:class:`~app.signals.LatestValue`. The visibility of a delay is the ROI's intensity-weighted RMS
visibility (:func:`roi_visibility`): dim pixels add no division noise, and noise adds in quadrature.
A cycle a suspender discards (the ``cycle_discarded`` event) is dropped here too, as the run drops it
from its sums before repeating it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.pipeline.coherence_fit import roi_visibility
from app.signals import LatestValue

SCAN_STEPS = 4  # phase steps per delay: the fewest for an unbiased 4-bucket visibility


@dataclass(frozen=True)
class ScanPoint:
    index: int
    delay_um: float  # mean delay-stage readback while the frames were taken
    visibility: float


@dataclass(frozen=True)
class ScanState:
    """What the panel shows: the points so far, how many are planned, and whether the run ended."""

    points: tuple[ScanPoint, ...]
    planned: int
    ended: bool = False
    outcome: str | None = None  # complete | aborted | failed once ended
    error: str | None = None


def scan_delays(centre_um: float, span_um: float, points: int, limits_um: tuple[float, float]
                ) -> tuple[list[float], str | None]:
    """``points`` delays over ``span_um`` centred on ``centre_um``, shifted (then clipped) to stay within
    the stage's ``limits_um``; returns (delays, a note when they had to move) or raises ValueError."""
    if not (span_um > 0 and np.isfinite(span_um)):
        raise ValueError(f"span must be > 0 um, got {span_um}")
    if points < 5:
        raise ValueError(f"points must be >= 5 (the envelope fit has 4 parameters), got {points}")
    lo, hi = float(limits_um[0]), float(limits_um[1])
    start, stop = centre_um - span_um / 2, centre_um + span_um / 2
    note = None
    if start < lo or stop > hi:
        shift = (lo - start) if start < lo else (hi - stop)
        start, stop = max(lo, start + shift), min(hi, stop + shift)
        note = f"scan moved to {start:g} ... {stop:g} um to stay inside the delay stage's {lo:g} ... {hi:g} um"
    return [float(d) for d in np.linspace(start, stop, points)], note


def scan_params(delays_um: list[float], *, frames_per_step: int, exposure_s: float | None = None) -> dict:
    """Delay-scan parameters for an alignment burst: 4 steps, one cycle, as many dark frames as one delay."""
    params = {"delays_um": list(delays_um), "steps": SCAN_STEPS, "frames_per_step": int(frames_per_step),
              "cycles": 1, "dark_frames": SCAN_STEPS * int(frames_per_step)}
    if exposure_s is not None:
        params["exposure_s"] = float(exposure_s)
    return params


class AlignmentScan:
    """Per-delay ROI visibility of one delay-scan run; attach before the run starts (``BenchModel.start_run``'s
    ``watcher``), detached by itself when the run ends. ``state.get()`` from any thread."""

    def __init__(self, roi: tuple[slice, slice] | None = None):
        self.roi = roi or (slice(None), slice(None))
        self.state: LatestValue[ScanState] = LatestValue()
        self._lock = threading.Lock()
        self._runner = None
        self._stages: dict = {}
        self._dark: np.ndarray | float = 0.0
        self._dark_sum: np.ndarray | None = None
        self._dark_count = 0
        self._label: str | None = None
        self._sums: np.ndarray | None = None  # the stage's completed cycles
        self._counts = np.zeros(0, np.int64)
        self._cycle: int | None = None
        self._cycle_sums: np.ndarray | None = None  # the cycle being taken (dropped if a suspender discards it)
        self._cycle_counts = np.zeros(0, np.int64)
        self._delays: list[float] = []
        self._points: list[ScanPoint] = []
        self._planned = 0

    # ------------------------------------------------------------------------------ life cycle
    def attach(self, runner, plan) -> None:
        """Listen to ``runner``'s events for ``plan`` (a delay-scan plan); called before the run starts."""
        self._stages = {s.label: s for s in plan.stages if s.kind == "delay"}
        self._planned = len(self._stages)
        self._runner = runner
        events = runner.events
        events.frame_acquired.connect(self._on_frame)
        events.stage_done.connect(self._on_stage_done)
        events.state_changed.connect(self._on_state)
        events.cycle_discarded.connect(self._on_cycle_discarded)
        self.state.publish(ScanState((), self._planned))

    def detach(self, outcome: str | None = None, error: str | None = None) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        events = runner.events
        events.frame_acquired.disconnect(self._on_frame)
        events.stage_done.disconnect(self._on_stage_done)
        events.state_changed.disconnect(self._on_state)
        events.cycle_discarded.disconnect(self._on_cycle_discarded)
        with self._lock:
            self.state.publish(ScanState(tuple(self._points), self._planned, True, outcome, error))

    # ------------------------------------------------------------------------------ runner events
    def _on_frame(self, data: np.ndarray, info) -> None:
        crop = data[self.roi]
        if info.stage == "dark":
            if self._dark_sum is None:
                self._dark_sum = np.zeros(crop.shape, np.uint64)
            self._dark_sum += crop
            self._dark_count += 1
            return
        stage = self._stages.get(info.stage)
        if stage is None:
            return
        if info.stage != self._label:
            self._label, self._cycle = info.stage, None
            wide = stage.frames_per_step * int(np.iinfo(data.dtype).max) >= 2**32  # uint32 holds 65537 16-bit frames
            self._sums = np.zeros((stage.n_steps, *crop.shape), np.uint64 if wide else np.uint32)
            self._counts = np.zeros(stage.n_steps, np.int64)
            self._cycle_sums, self._cycle_counts = np.zeros_like(self._sums), np.zeros_like(self._counts)
            self._delays = []
        if info.cycle != self._cycle:
            self._commit_cycle()
            self._cycle = info.cycle
        self._cycle_sums[info.step] += crop
        self._cycle_counts[info.step] += 1
        self._delays.append(info.delay_um)

    def _commit_cycle(self) -> None:
        if self._cycle_sums is not None and self._cycle_counts.any():
            self._sums += self._cycle_sums
            self._counts += self._cycle_counts
            self._cycle_sums[:] = 0
            self._cycle_counts[:] = 0

    def _on_cycle_discarded(self, discarded) -> None:
        if discarded.stage == self._label and self._cycle_sums is not None:  # the run took this cycle back out
            self._cycle_sums[:] = 0
            self._cycle_counts[:] = 0

    def _on_stage_done(self, label: str) -> None:
        if label == "dark" and self._dark_count:
            self._dark = self._dark_sum / self._dark_count
            return
        stage = self._stages.get(label)
        if stage is None or label != self._label:
            return
        self._commit_cycle()
        if not self._counts.all():
            return
        means = self._sums / self._counts[:, None, None] - self._dark
        visibility = roi_visibility(means, stage.step_phases_rad)
        delays = np.array(self._delays, float)
        delay = float(np.mean(delays)) if np.isfinite(delays).all() and delays.size else float(stage.delay_um)
        with self._lock:
            self._points.append(ScanPoint(int(stage.index), delay, visibility))
            self.state.publish(ScanState(tuple(self._points), self._planned))

    def _on_state(self, new, _old) -> None:
        value = getattr(new, "value", str(new))
        if value in ("done", "failed"):
            result = self._runner.result if self._runner is not None else None
            self.detach(result.status if result is not None else value, result.error if result is not None else None)
