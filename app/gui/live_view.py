"""The live camera image: latest frame only, repainted on a timer, on pyqtgraph's fast path.

Fast path: the frame goes in as contiguous uint16 with fixed levels and a 256-entry uint8 LUT (no
autoscaling per frame), decimated to the widget's resolution when the widget is smaller than the image
(every k-th pixel: a strided view, one small copy); auto levels, the histogram, the ROI numbers and the
line profile are computed on subsamples at bounded rates, never for every frame. Also: histogram/levels, colormap, saturation overlay, a movable ROI with mean,
std and fringe contrast, a line profile, the display frame rate, and axes in um on the sample when the
object-plane pixel size is known (else in pixels, labelled so).
"""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from app.gui.preview import finite_mean, roi_visibility

COLORMAPS = ("gray", "viridis", "inferno", "magma", "CET-L3")
LEVELS_PERIOD_S = 0.5  # auto levels at most this often (percentiles of a 1/64 subsample)
STATS_PERIOD_S = 0.1  # ROI numbers and line profile at most this often
HISTOGRAM_PERIOD_MS = 500  # the histogram beside the image


def display_step(image_shape: tuple[int, int], widget_px: tuple[float, float]) -> int:
    """Show every k-th pixel when the widget has fewer pixels than the image spans: k image pixels per screen
    pixel, rounded up once the widget is 25 % smaller (at most a 1.6x enlargement of the shown pixels)."""
    h, w = image_shape
    wh, ww = widget_px
    if wh <= 0 or ww <= 0:
        return 1
    return max(1, math.ceil(min(h / wh, w / ww) - 0.25))


def colormap_lut(name: str) -> np.ndarray:
    """A (256, 3) uint8 lookup table for ``name`` ('gray' is linear grey)."""
    if name == "gray":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp] * 3, axis=1)
    return pg.colormap.get(name).getLookupTable(nPts=256, alpha=False).astype(np.uint8)


class LiveView(QtWidgets.QWidget):
    """Pulls ``model.latest_frame`` every ``period_ms`` and repaints when it changed."""

    roi_changed = QtCore.pyqtSignal(object)  # (slice rows, slice cols) in frame pixels

    def __init__(self, model, parent=None, period_ms: int = 25):
        super().__init__(parent)
        self.model = model
        self._seq = 0
        self._shape: tuple[int, int] | None = None
        self._levels = (0.0, 4095.0)
        self._adc_max = 65535
        self._stage = ""
        self._paint_times: deque[float] = deque(maxlen=60)
        self.displayed_frames = 0
        self._next_levels_s = self._next_stats_s = 0.0
        self._display_shape: tuple[int, int] | None = None
        self._frame_stats: tuple[str, str] | None = None  # (frame and ROI numbers, saturation) of the last frame
        self._last_fringe: tuple[float, str, tuple] | None = None  # last finite (V, stage, ROI)
        self._maps_seq = 0

        self.graphics = pg.GraphicsLayoutWidget()
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.saturation = pg.ImageItem(axisOrder="row-major")
        self.saturation.setZValue(5)
        self.plot.addItem(self.saturation)
        self.hist = pg.HistogramLUTItem(image=self.image)
        self.image.sigImageChanged.disconnect(self.hist.imageChanged)  # a histogram per frame costs ms: 2 Hz instead
        self.graphics.addItem(self.hist, row=0, col=1)
        self.hist.sigLevelsChanged.connect(self._levels_from_hist)
        self._hist_timer = QtCore.QTimer(self)
        self._hist_timer.timeout.connect(self._update_histogram)
        self._hist_timer.start(HISTOGRAM_PERIOD_MS)
        self._hist_seq = 0
        self.roi = pg.RectROI([0, 0], [32, 32], pen=pg.mkPen("#00e5ff", width=2))
        self.roi.setZValue(10)
        self.plot.addItem(self.roi)
        self.roi.sigRegionChangeFinished.connect(self._emit_roi)
        self.line = pg.LineSegmentROI([[0, 0], [32, 32]], pen=pg.mkPen("#ffeb3b", width=2))
        self.line.setZValue(10)
        self.plot.addItem(self.line)
        self.scale_bar: pg.ScaleBar | None = None

        self.profile = pg.PlotWidget()
        self.profile.setMaximumHeight(150)
        self.profile.setLabel("left", "counts", units="ADU")
        self.profile_curve = self.profile.plot(pen=pg.mkPen("#ffeb3b"))

        self.cmap = QtWidgets.QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.cmap.currentTextChanged.connect(self._set_cmap)
        self.auto_levels = QtWidgets.QCheckBox("auto levels")
        self.auto_levels.setChecked(True)
        self.auto_levels.setToolTip("set levels to the 0.5-99.8 % range of the frames (twice a second)")
        self.fit_levels = QtWidgets.QPushButton("fit levels once")
        self.fit_levels.clicked.connect(lambda: self._fit_levels(self._last_data))
        self.show_saturation = QtWidgets.QCheckBox("saturation overlay")
        self.show_saturation.setChecked(True)
        self.stats = QtWidgets.QLabel("no frame yet")
        self.stats.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats.setWordWrap(True)
        self.fps = QtWidgets.QLabel("display: - fps")
        controls = QtWidgets.QHBoxLayout()
        for w in (QtWidgets.QLabel("colormap"), self.cmap, self.auto_levels, self.fit_levels, self.show_saturation):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.fps)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.stats)
        layout.addWidget(self.profile)
        self._last_data: np.ndarray | None = None
        self._set_cmap("gray")
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(period_ms)

    # ------------------------------------------------------------------------------ geometry
    def _pixel_um(self) -> float | None:
        return self.model.object_pixel_um

    def _setup_geometry(self, shape: tuple[int, int]) -> None:
        self._shape = shape
        h, w = shape
        px = self._pixel_um()
        scale = px or 1.0
        self.image.setRect(QtCore.QRectF(0, 0, w * scale, h * scale))
        unit = "um on the sample" if px else "camera pixels (pixel size unknown)"
        self.plot.setLabel("bottom", f"x ({unit})")
        self.plot.setLabel("left", f"y ({unit})")
        self.profile.setLabel("bottom", f"distance along the line ({'um' if px else 'px'})")
        side = min(w, h) // 4
        self.roi.setPos((w // 2 - side // 2) * scale, (h // 2 - side // 2) * scale)
        self.roi.setSize((side * scale, side * scale))
        self.plot.removeItem(self.line)
        self.line = pg.LineSegmentROI([[w * scale * 0.1, h * scale * 0.4], [w * scale * 0.9, h * scale * 0.6]],
                                      pen=pg.mkPen("#ffeb3b", width=2))
        self.line.setZValue(10)
        self.plot.addItem(self.line)
        if self.scale_bar is not None:
            self.plot.vb.scene().removeItem(self.scale_bar)
            self.scale_bar = None
        if px:
            length = _nice_length(w * px / 5)
            self.scale_bar = pg.ScaleBar(size=length, suffix="m", brush="w")
            self.scale_bar.setParentItem(self.plot.vb)
            self.scale_bar.anchor((1, 1), (1, 1), offset=(-20, -20))
            self.scale_bar.text.setText(f"{length:g} um")
            self.scale_bar.size = length
        self.plot.autoRange()
        self._emit_roi()

    def roi_slices(self) -> tuple[slice, slice] | None:
        if self._shape is None:
            return None
        scale = self._pixel_um() or 1.0
        x, y = (int(round(v / scale)) for v in self.roi.pos())
        w, h = (max(1, int(round(v / scale))) for v in self.roi.size())
        H, W = self._shape
        x0, y0 = min(max(x, 0), W - 1), min(max(y, 0), H - 1)
        return slice(y0, min(y0 + h, H)), slice(x0, min(x0 + w, W))

    def _emit_roi(self) -> None:
        roi = self.roi_slices()
        if roi is not None:
            self.roi_changed.emit(roi)
            self._update_fringe()

    # ------------------------------------------------------------------------------ levels and colours
    def _set_cmap(self, name: str) -> None:
        lut = colormap_lut(name)
        self.image.setLookupTable(lut)
        if name == "gray":
            self.hist.gradient.loadPreset("grey")
        else:
            self.hist.gradient.setColorMap(pg.colormap.get(name))
        self.image.setLookupTable(lut)

    def _levels_from_hist(self) -> None:
        lo, hi = self.hist.getLevels()
        self._levels = (float(lo), float(hi))

    def _update_histogram(self) -> None:
        if (self._seq != self._hist_seq and self.image.image is not None and self.isVisible()
                and self.hist.vb.scene() is not None):  # never on a closed view (its items are being torn down)
            self._hist_seq = self._seq
            self.hist.imageChanged()  # ImageItem.getHistogram subsamples to ~200 x 200 pixels

    def _fit_levels(self, data: np.ndarray | None) -> None:
        if data is None:
            return
        lo, hi = np.percentile(data[::8, ::8], [0.5, 99.8])
        self._levels = (float(lo), float(max(hi, lo + 1)))
        self.hist.setLevels(*self._levels)

    # ------------------------------------------------------------------------------ repaint
    def refresh(self) -> None:
        item = self.model.latest_frame.get_newer(self._seq)
        if item is None:
            maps = self.model.latest_maps.get()
            if maps is not None and maps.seq != self._maps_seq:  # new maps without a new frame (e.g. the final ones)
                self._update_fringe()
            return
        self._seq = item.seq
        data = item.value.data
        now = time.perf_counter()
        new_shape = self._shape != data.shape
        if (new_shape or item.value.stage != self._stage
                or (self.auto_levels.isChecked() and now >= self._next_levels_s)):
            self._fit_levels(data)  # a new stage (dark -> lit) needs new levels even when they are fixed
            self._next_levels_s = now + LEVELS_PERIOD_S
        self._stage = item.value.stage
        self._last_data = data
        camera = self.model.readbacks().camera
        if camera is not None and camera.bit_depth:
            self._adc_max = 2 ** camera.bit_depth - 1
        self._show_image(data, new_shape)
        sat = data >= self._adc_max if self.show_saturation.isChecked() else None
        n_sat = int(np.count_nonzero(sat)) if sat is not None else 0
        if n_sat:
            overlay = np.zeros((*data.shape, 4), np.uint8)
            overlay[sat] = (255, 0, 0, 255)
            self.saturation.setImage(overlay, autoLevels=False)
            scale = self._pixel_um() or 1.0  # after setImage: setRect scales by the image's size
            self.saturation.setRect(QtCore.QRectF(0, 0, data.shape[1] * scale, data.shape[0] * scale))
            self.saturation.show()
        else:
            self.saturation.hide()
        if new_shape:  # after setImage: setRect scales by the image's size in pixels
            self._setup_geometry(data.shape)
        if new_shape or n_sat or now >= self._next_stats_s:
            self._update_stats(data, item.value, n_sat)
            self._next_stats_s = now + STATS_PERIOD_S
        self._paint_times.append(now)
        self.displayed_frames += 1
        if len(self._paint_times) > 1:
            rate = (len(self._paint_times) - 1) / (self._paint_times[-1] - self._paint_times[0])
            self.fps.setText(f"display: {rate:.1f} fps")

    def _show_image(self, data: np.ndarray, new_shape: bool) -> None:
        """The frame, every k-th pixel when the widget shows fewer pixels than the frame has."""
        view = self.plot.vb.viewRect() if not new_shape else None
        scale = self._pixel_um() or 1.0
        widget = self.plot.vb.size()
        k = 1
        if view is not None and view.width() > 0 and view.height() > 0:
            # image pixels per screen pixel = (view span / scale) / widget pixels, along each axis
            k = display_step((int(abs(view.height()) / scale), int(abs(view.width()) / scale)),
                             (widget.height(), widget.width()))
        shown = np.ascontiguousarray(data[::k, ::k]) if k > 1 else data
        self.image.setImage(shown, autoLevels=False, levels=self._levels)
        if shown.shape != self._display_shape:  # after setImage: setRect scales by the image's size in pixels
            self._display_shape = shown.shape
            self.image.setRect(QtCore.QRectF(0, 0, data.shape[1] * scale, data.shape[0] * scale))

    def _update_stats(self, data: np.ndarray, snap, n_sat: int) -> None:
        roi = self.roi_slices()
        cut = data[roi].astype(np.float64) if roi else data.astype(np.float64)
        sat = f"   SATURATED: {n_sat} px" if n_sat else ""
        self._frame_stats = (
            f"frame {snap.frame_id} ({snap.stage}, step {snap.step})   ROI {cut.shape[1]} x {cut.shape[0]} px: "
            f"mean {cut.mean():.1f} ADU, std {cut.std():.1f} ADU, spatial contrast {roi_visibility(cut):.3f}", sat)
        self._update_fringe()
        self.profile_curve.setData(*self.line_profile(data))

    def _update_fringe(self) -> None:
        """The ROI's fringe visibility from the newest maps (also after the run, and when the ROI moves)."""
        if self._frame_stats is None:
            return
        self.stats.setText(f"{self._frame_stats[0]}, {self.fringe_text()}{self._frame_stats[1]}")

    def fringe_text(self) -> str:
        """'fringe visibility V x (stage)'; the last finite value while the maps have none in the ROI;
        'no fringes (laser off)' when the laser is off and there is no value to show."""
        item = self.model.latest_maps.get()
        self._maps_seq = item.seq if item is not None else 0
        roi = self.roi_slices()
        maps = item.value if item is not None else None
        if maps is not None and maps.visibility is not None and roi is not None and maps.visibility.shape == self._shape:
            value = finite_mean(maps.visibility[roi])
            if np.isfinite(value):
                self._last_fringe = (value, maps.stage, roi)
                return f"fringe visibility V {value:.3f} ({maps.stage})"
        laser = self.model.readbacks().laser
        if self._stage == "dark" or (laser is not None and laser.emission is False):
            return "no fringes (laser off)"
        if self._last_fringe is not None and self._last_fringe[2] == roi:
            value, stage, _ = self._last_fringe
            return f"fringe visibility V {value:.3f} ({stage}, last value)"
        return "fringe visibility: not measured yet in this ROI"

    def line_profile(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance along the line in um or px, counts in ADU), one sample per pixel, nearest pixel."""
        scale = self._pixel_um() or 1.0
        origin = self.line.pos()
        (x0, y0), (x1, y1) = [((origin.x() + p.x()) / scale, (origin.y() + p.y()) / scale) for p in self.line.listPoints()]
        n = int(max(2, np.hypot(x1 - x0, y1 - y0) + 1))
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        inside = (xs >= 0) & (ys >= 0) & (xs < data.shape[1]) & (ys < data.shape[0])
        values = data[ys[inside].astype(int), xs[inside].astype(int)].astype(np.float64)
        distance = np.hypot(xs[inside] - x0, ys[inside] - y0) * scale
        return distance, values


def _nice_length(target: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``target``."""
    if target <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(target))
    for m in (5, 2, 1):
        if m * power <= target:
            return float(m * power)
    return float(power)
