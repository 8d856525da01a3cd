"""The maps panel's numbers: the core's maps with the GUI's per-step means, each count from its source."""

from __future__ import annotations

import numpy as np

from app.engine.events import PreviewMaps as CoreMaps
from app.gui.preview import PreviewMaps
from app.gui.preview_publisher import combined_maps


def _own(frames_per_step: int, stage: str = "sample") -> PreviewMaps:
    shape = (4, 5)
    return PreviewMaps(stage=stage, kind="object", visibility=np.full(shape, 0.1), phase_rad=np.zeros(shape),
                       sigma_phase_rad=None, mean_adu=np.full(shape, 100.0), step_means_adu=np.ones((4, *shape)),
                       step_phases_rad=(0.0, np.pi / 2, np.pi, 3 * np.pi / 2), frames_per_step=frames_per_step,
                       frames_per_step_planned=20, drift_rad_per_s=0.01, dark_subtracted=True)


def _core(step_counts: tuple[int, ...], sigma: float = 0.05, stage: str = "sample") -> CoreMaps:
    shape = (4, 5)
    return CoreMaps(stage=stage, visibility=np.full(shape, 0.6), phase_rad=np.full(shape, 1.0),
                    sigma_phase_rad=np.full(shape, sigma), step_counts=step_counts, frames=sum(step_counts),
                    frames_planned=80)


def test_the_merged_maps_say_the_frame_count_of_the_core_maps_they_show():
    own = _own(frames_per_step=6)  # the GUI's accumulator is a preview period ahead of the core's maps
    merged = combined_maps(_core((5, 5, 5, 4)), acc=object(), own=own)
    assert merged.frames_per_step == 4  # the fewest frames of any step in the maps shown
    assert np.all(merged.visibility == 0.6) and np.all(merged.phase_rad == 1.0) and np.all(merged.sigma_phase_rad == 0.05)
    assert merged.step_means_adu is own.step_means_adu and merged.drift_rad_per_s == 0.01  # the GUI's own numbers
    assert merged.frames_per_step_planned == 20


def test_core_maps_of_another_stage_or_without_a_gain_are_not_mixed_in():
    own = _own(frames_per_step=3, stage="reference")
    assert combined_maps(_core((2, 2, 2, 2), stage="sample"), acc=object(), own=own) is own
    no_gain = combined_maps(_core((3, 3, 3, 3), sigma=np.nan, stage="reference"), acc=object(), own=own)
    assert no_gain.sigma_phase_rad is None and no_gain.frames_per_step == 3
    assert combined_maps(_core((0, 0, 0, 0), stage="reference"), acc=object(), own=own).sigma_phase_rad is None
