"""Maps that sharpen while a stage accumulates, computed off the worker thread (issue 9, item 5).

The worker only takes a :class:`SumsSnapshot` (a copy of the exact running sums, cheap) when a preview
is due; the :class:`Previewer` thread demodulates the newest snapshot and publishes :class:`PreviewMaps`
to a :class:`~app.signals.LatestValue`. Pending snapshots are a one-item mailbox too: a slow preview
skips snapshots, it never queues them. The maths is the pipeline's, composed as
:func:`app.pipeline.reconstruct.reconstruct` does it (minus unwrapping), so the preview of a stage's
complete sums equals its written result.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from app.engine.events import PreviewMaps
from app.pipeline import demodulate
from app.pipeline.accumulate import mean_frame
from app.pipeline.demodulate import FringeMaps, normalise_by_reference
from app.pipeline.masks import hot_pixel_mask
from app.pipeline.reconstruct import RunSums
from app.pipeline.uncertainty import object_sigmas, sigma_maps
from app.signals import LatestValue

log = logging.getLogger(__name__)

PREVIEW_DUTY = 0.03  # the preview thread's CPU time is at most this fraction of the wall time


@dataclass(frozen=True)
class PreviewContext:
    """What a stage's preview is relative to: the dark and (for object stages) the reference sums."""

    dark: RunSums | None
    reference: RunSums | None
    step_phases_rad: tuple[float, ...]
    gain_e_per_adu: float | None
    read_noise_e: float
    min_reference_visibility: float


@dataclass(frozen=True)
class SumsSnapshot:
    """A copy of one stage's running sums at one moment (taken by the worker)."""

    stage: str
    sums: np.ndarray
    counts: np.ndarray
    saturated: np.ndarray
    frames_planned: int
    context: PreviewContext
    final: bool = False


class _Derived:
    """Dark frame, hot pixels and reference maps of one context, computed once per context."""

    def __init__(self, ctx: PreviewContext, shape):
        if ctx.dark is not None:
            self.dark_adu = mean_frame(ctx.dark.sums, ctx.dark.counts)
            self.hot = hot_pixel_mask(self.dark_adu)
        else:
            self.dark_adu, self.hot = np.zeros(shape), np.zeros(shape, bool)
        self.reference: FringeMaps | None = None
        self.reference_sigma = None
        if ctx.reference is not None:
            ref = ctx.reference
            self.reference = demodulate(ref.step_means(self.dark_adu), np.array(ctx.step_phases_rad))
            if ctx.gain_e_per_adu is not None:
                self.reference_sigma = sigma_maps(self.reference.mean, self.reference.visibility,
                                                  int(np.sum(ref.counts)), gain_e_per_adu=ctx.gain_e_per_adu,
                                                  read_noise_e=ctx.read_noise_e)


def preview_maps(snap: SumsSnapshot, derived: _Derived) -> PreviewMaps:
    """Visibility, phase (relative to the reference when there is one) and sigma_phase of a snapshot."""
    ctx = snap.context
    counts = np.asarray(snap.counts)
    shape = snap.sums.shape[1:]
    if np.any(counts == 0):  # not every step has a frame yet: no fringe to demodulate
        nan = np.full(shape, np.nan, np.float32)
        return PreviewMaps(snap.stage, nan, nan.copy(), nan.copy(), tuple(int(c) for c in counts),
                           int(counts.sum()), snap.frames_planned, snap.final)
    fringes = demodulate(RunSums(snap.sums, counts).step_means(derived.dark_adu), np.array(ctx.step_phases_rad))
    saturated = snap.saturated.copy()
    if ctx.reference is not None and ctx.reference.saturated is not None:
        saturated |= ctx.reference.saturated
    exclude = derived.hot | saturated
    reference = derived.reference or FringeMaps(visibility=fringes.visibility,
                                                phase_rad=np.zeros_like(fringes.phase_rad), mean=fringes.mean)
    obj = normalise_by_reference(fringes, reference, min_reference_visibility=ctx.min_reference_visibility,
                                 exclude=exclude)
    if ctx.gain_e_per_adu is None:
        sigma = np.full(shape, np.nan)
    else:
        sig = sigma_maps(fringes.mean, fringes.visibility, int(counts.sum()), gain_e_per_adu=ctx.gain_e_per_adu,
                         read_noise_e=ctx.read_noise_e)
        sigma = sig.sigma_phase_rad
        if derived.reference is not None:
            sigma, _ = object_sigmas(sig, derived.reference_sigma, fringes.visibility, derived.reference.visibility)
    return PreviewMaps(snap.stage, fringes.visibility.astype(np.float32), obj.phase_rad.astype(np.float32),
                       sigma.astype(np.float32), tuple(int(c) for c in counts), int(counts.sum()),
                       snap.frames_planned, snap.final)


class Previewer:
    """A thread turning the newest submitted snapshot into maps in ``slot``; ``close`` drains and stops.

    ``next_interval_s(base)`` stretches the interval so that the thread computes at most
    ``duty`` (default :data:`PREVIEW_DUTY`) of the time: on a large frame the preview slows down, the ingest does not.
    """

    def __init__(self, slot: LatestValue, *, duty: float = PREVIEW_DUTY):
        if not duty > 0.0:
            raise ValueError(f"preview duty {duty!r}: allowed > 0 (a fraction of wall time; > 1 means no limit)")
        self.slot = slot
        self.duty = float(duty)
        self.last_compute_s = 0.0
        self.total_compute_s = 0.0  # CPU time spent computing previews (for ``qiup bench core``)
        self._pending: SumsSnapshot | None = None
        self._cond = threading.Condition()
        self._closing = False
        self._derived: tuple[PreviewContext, _Derived] | None = None
        self._thread = threading.Thread(target=self._loop, name="qiup-preview", daemon=True)
        self._thread.start()

    def next_interval_s(self, base_s: float) -> float:
        return max(base_s, self.last_compute_s / self.duty)

    def submit(self, snap: SumsSnapshot) -> None:
        """Hand over a snapshot, replacing one not yet taken (a stage's final one only by a later stage's)."""
        with self._cond:
            pending = self._pending
            if pending is not None and pending.final and not snap.final and pending.stage == snap.stage:
                return
            self._pending = snap
            self._cond.notify()

    def close(self, timeout_s: float = 10.0) -> None:
        """Compute what is pending, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closing:
                    self._cond.wait()
                snap, self._pending = self._pending, None
                if snap is None:
                    return
            t0 = time.thread_time()  # CPU time of this thread: waiting for a busy core does not count
            try:
                self.slot.publish(preview_maps(snap, self._derived_for(snap)))
            except Exception:  # noqa: BLE001 - a preview never ends a run
                log.exception("preview of %s failed", snap.stage)
            self.last_compute_s = time.thread_time() - t0
            self.total_compute_s += self.last_compute_s

    def _derived_for(self, snap: SumsSnapshot) -> _Derived:
        if self._derived is None or self._derived[0] is not snap.context:
            self._derived = (snap.context, _Derived(snap.context, snap.sums.shape[1:]))
        return self._derived[1]
