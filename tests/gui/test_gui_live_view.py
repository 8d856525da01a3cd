"""The live view against hand-made frames: physical axes, line profile, saturation, latest frame only."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.gui.bench_model import FrameSnapshot
from app.gui.readbacks import CameraState, Readbacks
from app.gui.live_view import LiveView
from app.signals import LatestValue


class FakeModel:
    """What the live view reads from the BenchModel: latest frame and maps, readbacks, pixel size."""

    def __init__(self, pixel_um):
        self.object_pixel_um = pixel_um
        self.latest_frame = LatestValue()
        self.latest_maps = LatestValue()

    def readbacks(self):
        return Readbacks(camera=CameraState(0.0, True, 0.1, (0, 0, 64, 48), (2048, 2048), 1, (1,), "free_run",
                                            None, 12))


def _view(qtbot, pixel_um):
    model = FakeModel(pixel_um)
    view = LiveView(model, period_ms=10_000)  # refreshed by hand
    qtbot.addWidget(view)
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
