"""QIUP maps while the run accumulates: visibility, phase (cyclic), complex view, sigma_phase, and the
fringe-quality meter and precision readout for the live view's ROI."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from app.gui.map_style import PHASE_CMAP, complex_rgb
from app.gui.preview import achieved_step_rad, finite_mean, frames_to_reach

PHASE_MIN_VISIBILITY = 0.05  # below this (or sigma_phase > 1 rad) the phase is noise: shown transparent


def phase_for_display(phase_rad, visibility, sigma_phase_rad=None):
    """The phase map with NaN where the fringes are too weak for a phase (those pixels show black)."""
    weak = ~(np.nan_to_num(visibility, nan=0.0) >= PHASE_MIN_VISIBILITY)
    if sigma_phase_rad is not None:
        weak |= np.nan_to_num(sigma_phase_rad, nan=np.inf) > 1.0
    return np.where(weak, np.float32(np.nan), phase_rad)


DISPLAY_MAX_PX = 384  # the maps panel shows small plots: decimate bigger maps for display only


def display_copy(data: np.ndarray) -> np.ndarray:
    """Every k-th pixel so that neither side exceeds DISPLAY_MAX_PX (the measurements use full maps)."""
    step = max(1, -(-max(data.shape[-2:]) // DISPLAY_MAX_PX))
    return data[..., ::step, ::step]


class _MapPlot:
    """One map: an ImageItem in a plot with a colour bar and a title with units."""

    def __init__(self, layout: pg.GraphicsLayoutWidget, row: int, col: int, title: str, cmap: str | None,
                 levels: tuple[float, float] | None, label: str):
        self.plot = layout.addPlot(row=row, col=col, title=title)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.hideAxis("bottom")
        self.plot.hideAxis("left")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.fixed = levels
        self.bar = None
        if cmap is not None:
            self.bar = pg.ColorBarItem(values=levels or (0, 1), colorMap=pg.colormap.get(cmap), label=label,
                                       interactive=False, width=12)
            self.bar.setImageItem(self.image, insert_in=self.plot)

    def show(self, data: np.ndarray | None, *, keep_nan: bool = False) -> None:
        if data is None:
            self.image.clear()
            return
        data = display_copy(data)
        finite = np.isfinite(data)
        if self.fixed is not None:
            levels = self.fixed
        elif finite.any():
            lo, hi = np.percentile(data[finite], [1, 99])
            levels = (float(lo), float(max(hi, lo + 1e-6)))
        else:
            levels = (0.0, 1.0)
        clean = data.astype(np.float32) if keep_nan else np.where(finite, data, levels[0]).astype(np.float32)
        self.image.setImage(clean, autoLevels=False, levels=levels)
        if self.bar is not None:
            self.bar.setLevels(levels)


class MapsView(QtWidgets.QWidget):
    """Pulls ``model.latest_maps`` on a timer; ``roi`` (row, col slices) is set by the live view."""

    def __init__(self, model, parent=None, period_ms: int = 200):
        super().__init__(parent)
        self.model = model
        self._seq = 0
        self.roi: tuple[slice, slice] | None = None
        self.maps = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.vis = _MapPlot(self.graphics, 0, 0, "visibility V", "viridis", (0.0, 1.0), "V")
        self.phase = _MapPlot(self.graphics, 0, 1, "phase (rad)", PHASE_CMAP, (-math.pi, math.pi), "rad")
        self.cplx = _MapPlot(self.graphics, 1, 0, "complex (hue: phase)", None, None, "")
        self.sigma = _MapPlot(self.graphics, 1, 1, "sigma_phase (rad)", "inferno", None, "rad")
        self.cplx.plot.setToolTip("hue = phase, brightness = visibility (up to its 99th percentile)")
        self.title = QtWidgets.QLabel("no maps yet: start a stepped sequence (or live)")
        self.title.setStyleSheet("font-weight: bold;")
        self.meter = QtWidgets.QLabel("")
        self.meter.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meter.setWordWrap(True)
        self.target = QtWidgets.QDoubleSpinBox()
        self.target.setDecimals(4)
        self.target.setRange(1e-4, 3.0)
        self.target.setValue(0.05)
        self.target.setSuffix(" rad")
        self.target.setToolTip("sigma_phase you want in the ROI (median over the ROI)")
        self.stop_when_reached = QtWidgets.QCheckBox("stop when reached")
        self.stop_when_reached.setToolTip("aborts the run (the file keeps every frame so far, status 'aborted')")
        self.precision = QtWidgets.QLabel("")
        self.precision.setStyleSheet("font-weight: bold;")
        self.precision.setWordWrap(True)
        self.title.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("target sigma_phase"))
        row.addWidget(self.target)
        row.addWidget(self.stop_when_reached)
        row.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.meter)
        layout.addLayout(row)
        layout.addWidget(self.precision)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(period_ms)

    def set_roi(self, roi) -> None:
        self.roi = roi
        self.model.roi = roi  # the preview thread measures drift in this ROI
        if self.maps is not None:
            self._update_meter(self.maps)

    def refresh(self) -> None:
        item = self.model.latest_maps.get_newer(self._seq)
        if item is None:
            return
        self._seq = item.seq
        maps = self.maps = item.value
        planned = maps.frames_per_step_planned
        self.title.setText(f"stage '{maps.stage}': {maps.frames_per_step} of {planned} frames per step so far"
                           + ("" if maps.dark_subtracted else " (no dark yet: not dark-subtracted)"))
        self.vis.show(maps.visibility)
        self.phase.show(None if maps.phase_rad is None or maps.visibility is None else phase_for_display(
            *(None if m is None else display_copy(m) for m in (maps.phase_rad, maps.visibility, maps.sigma_phase_rad))),
            keep_nan=True)
        if maps.visibility is not None:
            vis, phase = display_copy(maps.visibility), display_copy(maps.phase_rad)
            finite = vis[np.isfinite(vis)]
            vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
            self.cplx.image.setImage(complex_rgb(vis, phase, vmax), autoLevels=False)
        else:
            self.cplx.image.clear()
        self.sigma.show(maps.sigma_phase_rad)
        self._update_meter(maps)

    def _update_meter(self, maps) -> None:
        roi = self.roi or (slice(None), slice(None))
        parts = []
        if maps.visibility is not None:
            parts.append(f"ROI visibility {finite_mean(maps.visibility[roi]):.3f}")
        if maps.step_means_adu is not None and len(maps.step_phases_rad) >= 3:
            intended = float(np.mean(np.diff(maps.step_phases_rad)))
            achieved = achieved_step_rad(maps.step_means_adu[(slice(None), *roi)])
            parts.append(f"phase step {achieved:.3f} rad achieved vs {intended:.3f} rad intended" if achieved is not None
                         else "phase step: n/a (needs >= 4 steps and fringe signal)")
        if maps.drift_rad_per_s is not None:
            parts.append(f"drift {maps.drift_rad_per_s:+.3f} rad/s")
        self.meter.setText("   |   ".join(parts))
        self._update_precision(maps, roi)

    def _update_precision(self, maps, roi) -> None:
        if maps.sigma_phase_rad is None:
            self.precision.setText("precision: needs the camera gain and a dark (sigma_phase unknown)")
            return
        cut = maps.sigma_phase_rad[roi]
        cut = cut[np.isfinite(cut)]
        if cut.size == 0:
            self.precision.setText("precision: no fringe in the ROI")
            return
        now = float(np.median(cut))
        target = self.target.value()
        more = frames_to_reach(now, maps.frames_per_step, target, len(maps.step_phases_rad))
        if more == 0:
            self.precision.setText(f"sigma_phase {now:.4f} rad in the ROI: target {target:g} rad reached")
            status = self.model.run_status()
            if self.stop_when_reached.isChecked() and status.active and maps.kind == "sample":
                self.model.abort()
        else:
            self.precision.setText(f"sigma_phase {now:.4f} rad in the ROI: {more} more frames to reach "
                                   f"sigma_phase = {target:g} rad")
