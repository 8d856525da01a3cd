"""The live view against hand-made frames: physical axes, line profile, saturation, latest frame only."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from app.gui.run_state import FrameSnapshot
from app.gui.preview import PreviewMaps
from app.gui.readbacks import CameraState, LaserState, Readbacks
from app.gui.live_view import LiveView
from app.signals import LatestValue
from tests.gui.conftest import delete_now


@pytest.fixture(autouse=True)
def _destroy_views_on_the_gui_thread():
    """Each test's view is destroyed at its end, on this thread (left to the garbage collector, a closed
    view's pyqtgraph items could be collected mid-paint of the next test's view)."""
    yield
    delete_now()


class FakeModel:
    """What the live view reads from the BenchModel: latest frame and maps, readbacks, pixel size."""

    def __init__(self, pixel_um):
        self.object_pixel_um = pixel_um
        self.latest_frame = LatestValue()
        self.latest_maps = LatestValue()
        self.emission = True

    def readbacks(self):
        return Readbacks(camera=CameraState(0.0, True, 0.1, (0, 0, 64, 48), (2048, 2048), 1, (1,), "free_run",
                                            None, 12),
                         laser=LaserState(0.0, True, self.emission, 0.1, 0.1, True, (0.0, 0.2)))


def _view(qtbot, pixel_um):
    model = FakeModel(pixel_um)
    view = LiveView(model, period_ms=10_000)  # refreshed by hand
    qtbot.addWidget(view, before_close_func=lambda w: w.deleteLater())
    view.show()
    return model, view


def test_axes_are_in_um_on_the_sample_when_the_pixel_size_is_known(qtbot):
    model, view = _view(qtbot, 2.5)
    model.latest_frame.publish(FrameSnapshot(np.zeros((48, 64), np.uint16), "sample", 0, 1))
    view.refresh()
    rect = view.image.mapRectToView(view.image.boundingRect())
    assert (rect.width(), rect.height()) == (64 * 2.5, 48 * 2.5)
    assert "um on the sample" in view.plot.getAxis("bottom").labelText
    assert view.scale_bar is not None


def test_axes_say_pixels_when_the_pixel_size_is_unknown(qtbot):
    model, view = _view(qtbot, None)
    model.latest_frame.publish(FrameSnapshot(np.zeros((48, 64), np.uint16), "sample", 0, 1))
    view.refresh()
    assert "pixel size unknown" in view.plot.getAxis("bottom").labelText and view.scale_bar is None


def test_line_profile_reads_the_pixels_under_the_line(qtbot):
    model, view = _view(qtbot, 2.0)
    frame = (np.arange(64, dtype=np.uint16)[None, :] * 10 + np.arange(48, dtype=np.uint16)[:, None] * 1000)
    model.latest_frame.publish(FrameSnapshot(frame, "sample", 0, 1))
    view.refresh()
    view.plot.removeItem(view.line)
    view.line = pg.LineSegmentROI([[10 * 2.0, 20.5 * 2.0], [50 * 2.0, 20.5 * 2.0]])  # along row 20, x 10..50
    view.plot.addItem(view.line)
    distance_um, counts = view.line_profile(frame)
    assert np.array_equal(counts, frame[20, 10:51].astype(float))
    assert distance_um[0] == 0 and distance_um[-1] == 40 * 2.0


def test_saturation_overlay_marks_exactly_the_pixels_at_the_adc_maximum(qtbot):
    model, view = _view(qtbot, 1.0)
    frame = np.full((48, 64), 1000, np.uint16)
    frame[5, 7] = frame[30, 40] = 4095  # 12-bit camera
    model.latest_frame.publish(FrameSnapshot(frame, "sample", 0, 1))
    view.refresh()
    overlay = view.saturation.image
    assert view.saturation.isVisible() and set(zip(*np.nonzero(overlay[..., 3]))) == {(5, 7), (30, 40)}
    assert "SATURATED: 2 px" in view.stats.text()


def test_only_the_newest_frame_is_painted(qtbot):
    model, view = _view(qtbot, 1.0)
    for i in range(5):
        model.latest_frame.publish(FrameSnapshot(np.full((48, 64), 100 * i, np.uint16), "sample", 0, i))
    view.refresh()
    assert view.displayed_frames == 1 and view.image.image[0, 0] == 400
    view.refresh()  # nothing new: nothing painted
    assert view.displayed_frames == 1


def _maps(visibility, stage="sample"):
    return PreviewMaps(stage=stage, kind=stage, visibility=visibility, phase_rad=np.zeros_like(visibility),
                       sigma_phase_rad=None, mean_adu=np.zeros_like(visibility), step_means_adu=None,
                       step_phases_rad=(), frames_per_step=1, frames_per_step_planned=1, drift_rad_per_s=None,
                       dark_subtracted=True)


def test_roi_visibility_follows_maps_that_arrive_after_the_last_frame_never_nan(qtbot):
    model, view = _view(qtbot, 1.0)
    model.latest_frame.publish(FrameSnapshot(np.full((48, 64), 500, np.uint16), "sample", 3, 36))
    model.latest_maps.publish(_maps(np.full((48, 64), np.nan, np.float32)))  # a preview before every step had a frame
    view.refresh()
    assert "nan" not in view.stats.text() and "not measured yet" in view.stats.text()
    model.latest_maps.publish(_maps(np.full((48, 64), 0.47, np.float32)))  # the final maps, after the last frame
    view.refresh()
    assert "fringe visibility V 0.470 (sample)" in view.stats.text()
    model.latest_maps.publish(_maps(np.full((48, 64), np.nan, np.float32)))
    view.refresh()
    assert "fringe visibility V 0.470 (sample, last value)" in view.stats.text()
    model.emission = False  # the run ended: the laser is off and the maps have nothing in the ROI
    view.refresh()
    view._update_fringe()
    assert "no fringes (laser off)" in view.stats.text() and "nan" not in view.stats.text()


def test_phase_is_hidden_where_the_fringes_are_too_weak_for_a_phase():
    from app.gui.maps_view import phase_for_display

    phase = np.full((2, 3), 1.0, np.float32)
    vis = np.array([[0.5, 0.04, np.nan], [0.2, 0.2, 0.2]], np.float32)
    sigma = np.array([[0.1, 0.1, 0.1], [0.5, 1.5, np.nan]], np.float32)
    shown = phase_for_display(phase, vis, sigma)
    assert np.array_equal(np.isnan(shown), [[False, True, True], [False, True, True]])
    assert np.array_equal(np.isnan(phase_for_display(phase, vis)), [[False, True, True], [False, False, False]])
