"""The GUI's preview maps: the core's newest maps plus the numbers only the GUI shows (Qt-free).

The core publishes visibility, phase and sigma (``runner.latest_maps()``); the fringe-quality meter also
needs the per-step means and the drift, which come from the GUI's own :class:`PreviewAccumulator`.
:class:`PreviewPublisher` runs on the ``qiup-gui-preview`` thread and merges both at most every
``PERIOD_S`` into one :class:`LatestValue`, never calling Qt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from app.gui.preview import PreviewAccumulator, PreviewMaps, preview_maps
from app.signals import LatestValue

log = logging.getLogger(__name__)

# (runner or None, the GUI's accumulator or None, the live view's ROI or None), read at each round
Sources = Callable[[], tuple[object, PreviewAccumulator | None, tuple[slice, slice] | None]]


class PreviewPublisher:
    """``run()`` (the thread's target) publishes merged maps into ``out`` until ``stop`` is set."""

    PERIOD_S = 0.15
    OWN_PERIOD_S = 0.25  # the GUI-only numbers (per-step means, drift) at most this often

    def __init__(self, sources: Sources, out: LatestValue[PreviewMaps], stop: threading.Event):
        self._sources, self.out, self._stop = sources, out, stop

    def run(self) -> None:
        """The GUI-only numbers are recomputed at most every ``OWN_PERIOD_S`` (a snapshot copies every step's
        sums: 32 MB at 1024 x 1024), at once when the stage changes; new core maps are published as they come."""
        seen = None
        own, own_t, own_version = None, -np.inf, -1
        next_t = time.monotonic()
        while True:  # at most one preview per period, the computing time included
            next_t = max(next_t + self.PERIOD_S, time.monotonic())
            if self._stop.wait(max(0.0, next_t - time.monotonic())):
                return
            runner, acc, roi = self._sources()
            core = runner.latest_maps() if runner is not None else None
            core_value = core.value if core is not None else None
            try:
                if acc is not None and acc.version != own_version and (
                        time.monotonic() - own_t >= self.OWN_PERIOD_S or own is None or own.frames_per_step < 1
                        or (core_value is not None and core_value.stage != own.stage)):
                    own_version, own_t = acc.version, time.monotonic()
                    own = preview_maps(acc.snapshot(), gain_e_per_adu=None, read_noise_e=None, roi=roi,
                                       fringe_maps=False)
                elif acc is None:
                    own, own_version = None, -1
                key = (core.seq if core is not None else 0, own_version)
                if key == seen:
                    continue
                seen = key
                maps = combined_maps(core_value, acc, own)
            except Exception as exc:  # noqa: BLE001
                log.error("preview maps failed: %s", exc)
                continue
            if maps is not None:
                self.out.publish(maps)


def combined_maps(core, acc: PreviewAccumulator | None, own: PreviewMaps | None) -> PreviewMaps | None:
    """The core's maps of the stage being taken, with the GUI's per-step means and drift (``own``)."""
    if acc is None:  # the live sequence: the core's rolling maps as they are
        if core is None or core.stage != "live":
            return None
        return PreviewMaps(stage="live", kind="live", visibility=core.visibility, phase_rad=core.phase_rad,
                           sigma_phase_rad=None, mean_adu=np.zeros_like(core.visibility), step_means_adu=None,
                           step_phases_rad=(), frames_per_step=1, frames_per_step_planned=1,
                           drift_rad_per_s=None, dark_subtracted=True)
    if own is None:
        return None
    if core is None or core.stage != own.stage or own.kind in ("dark", "sweep"):
        return own
    # the maps, sigma and the count they are from all come from the core: the title and the frames still
    # needed for a target sigma then match the maps shown (the GUI's own count can lead by a preview period)
    frames_per_step = min(core.step_counts) if core.step_counts else own.frames_per_step
    sigma = core.sigma_phase_rad
    if sigma is not None and (not np.isfinite(sigma).any() or frames_per_step < 1):
        sigma = None  # the camera's gain is unknown (the core's sigma is all NaN), or no frame count to scale
    return replace(own, visibility=core.visibility, phase_rad=core.phase_rad, sigma_phase_rad=sigma,
                   frames_per_step=frames_per_step)
