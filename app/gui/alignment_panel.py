"""Coherence alignment: scan the delay stage around its position with a short phase-stepping burst per
delay, plot the fringe visibility against delay as it arrives with the envelope fit, and move the
delay stage to the fitted zero-path-difference (ZPD) point on request.

The scan is an ordinary delay-scan run started through the model (it owns the bench, writes a run
file, Abort ends it with the laser off); :class:`~app.gui.alignment_scan.AlignmentScan` turns its
frames into one visibility per delay off the GUI thread, and this panel only pulls and fits.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from app.config import ConfigError
from app.engine.calibration import calibration_file_path, write_calibration_file
from app.gui.alignment_scan import AlignmentScan, ScanState, scan_delays, scan_params
from app.gui.widgets import SmallPlotWidget
from app.pipeline.coherence_fit import CoherenceFit, CoherenceFitError, fit_coherence_envelope

DELAY_ROLE = "delay_stage"


def fit_text(fit: CoherenceFit) -> str:
    return (f"ZPD = {fit.zpd_um:.3f} +- {fit.sigma_zpd_um:.2g} um    peak visibility = {fit.peak_visibility:.3f} "
            f"+- {fit.sigma_peak_visibility:.2g}    envelope FWHM = {fit.fwhm_um:.2f} +- {fit.sigma_fwhm_um:.2g} um"
            f"    ({fit.n_points} delays)")


VISIBILITY_AXIS_MIN_TOP = 0.05  # the visibility axis shows at least 0 ... 0.05


class AlignmentPanel(QtWidgets.QWidget):
    """Span / points / frames per step, Scan, Abort, Move to ZPD, and the live visibility-versus-delay plot."""

    def __init__(self, model, parent=None, period_ms: int = 150):
        super().__init__(parent)
        self.model = model
        self.scan: AlignmentScan | None = None
        self.fit: CoherenceFit | None = None
        self._seq = 0
        self._fitted = None  # (points, ended) of the last fit: the scan's end refits even with no new point
        self._msg_seq = 0
        self.span = self._spin(1.0, 1000.0, 50.0, " um", "delay range scanned, centred on the stage's position")
        self.points = QtWidgets.QSpinBox()
        self.points.setRange(5, 401)
        self.points.setValue(26)
        self.points.setToolTip("delay positions in the scan (4 phase steps each)")
        self.frames = QtWidgets.QSpinBox()
        self.frames.setRange(1, 100)
        self.frames.setValue(1)
        self.frames.setToolTip("frames per phase step at each delay (more: less noise, slower)")
        self.centre = QtWidgets.QLabel("-")
        self.start = QtWidgets.QPushButton("Scan")
        self.start.setToolTip("a delay-scan run around the delay stage's position (laser on during the scan)")
        self.abort = QtWidgets.QPushButton("Abort")
        self.move = QtWidgets.QPushButton("Move to ZPD")
        self.copy = QtWidgets.QPushButton("Copy")
        self.copy.setToolTip("copy 'zero_path_delay_um = ...' for the config's [calibration] table")
        self.save = QtWidgets.QPushButton("Save ZPD")
        self.save.setToolTip("write zero_path_delay_um into the config's calibration file: every later run goes there")
        self.start.clicked.connect(self.on_scan)
        self.abort.clicked.connect(model.abort)
        self.move.clicked.connect(self.on_move)
        self.copy.clicked.connect(self.on_copy)
        self.save.clicked.connect(self.on_save)
        self.status = QtWidgets.QLabel("no scan yet")
        self.result = QtWidgets.QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setStyleSheet("font-weight: bold;")
        self.notice = QtWidgets.QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #c62828;")
        self._build_plot()

        form = QtWidgets.QFormLayout()
        form.addRow("delay stage at", self.centre)
        form.addRow("span", self.span)
        form.addRow("points", self.points)
        form.addRow("frames per step", self.frames)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.start, self.abort, self.move, self.copy, self.save):
            buttons.addWidget(b)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.result)
        layout.addWidget(self.notice)
        layout.addWidget(self.plot, 1)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(period_ms)
        self.refresh()

    @staticmethod
    def _spin(lo: float, hi: float, value: float, suffix: str, tip: str) -> QtWidgets.QDoubleSpinBox:
        box = QtWidgets.QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setDecimals(2)
        box.setValue(value)
        box.setSuffix(suffix)
        box.setToolTip(tip)
        return box

    def _build_plot(self) -> None:
        self.plot = SmallPlotWidget()
        self.plot.setMinimumHeight(220)
        item = self.plot.getPlotItem()
        for side, text in (("bottom", "delay-stage position (um)"), ("left", "fringe visibility (ROI RMS)")):
            axis = item.getAxis(side)
            axis.enableAutoSIPrefix(False)
            item.setLabel(side, text)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.addLegend(offset=(10, 10))  # top left: the rising flank of a centred scan leaves it empty
        self.points_item = item.plot([], [], pen=None, symbol="o", symbolSize=7, symbolBrush="#1565c0",
                                     name="measured")
        self.fit_item = item.plot([], [], pen=pg.mkPen("#d50000", width=2), name="envelope fit")
        self.zpd_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#2e7d32", width=2, style=QtCore.Qt.PenStyle.DashLine),
                                        label="ZPD {value:.2f} um",
                                        labelOpts={"position": 0.12, "color": "#2e7d32", "fill": (255, 255, 255, 200)})
        self.stage_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#757575", width=1))
        for line in (self.zpd_line, self.stage_line):
            line.setVisible(False)
            item.addItem(line, ignoreBounds=True)

    # ------------------------------------------------------------------------------ commands
    def on_scan(self) -> None:
        run = self.model.run_status()
        if run.active:
            self.notice.setText(f"scan refused: {run.label} owns the bench")
            return
        state = self.model.readbacks().stages.get(DELAY_ROLE)
        if state is None or state.position is None or state.limits is None:
            self.notice.setText("scan refused: no delay-stage readback yet")
            return
        try:
            delays, note = scan_delays(state.position, self.span.value(), self.points.value(), state.limits)
        except ValueError as exc:
            self.notice.setText(f"scan refused: {exc}")
            return
        self.notice.setText(note or "")
        self.scan = AlignmentScan(self.model.roi)
        self.fit, self._seq, self._fitted = None, 0, None
        self._msg_seq = self.model.messages_after(0)[-1].seq if self.model.messages_after(0) else 0
        self.points_item.setData([], [])
        self.fit_item.setData([], [])
        self.zpd_line.setVisible(False)
        self.model.start_run("delay-scan", scan_params(delays, frames_per_step=self.frames.value()), watcher=self.scan)
        self.status.setText(f"starting a scan of {len(delays)} delays, {delays[0]:.2f} ... {delays[-1]:.2f} um")

    def on_move(self) -> None:
        run = self.model.run_status()
        if self.fit is None:
            self.notice.setText("move refused: no fitted ZPD yet (run a scan)")
        elif run.active:
            self.notice.setText(f"move refused: {run.label} owns the bench; wait for it to end or abort it")
        else:
            self.notice.setText("")
            self.model.move_stage(DELAY_ROLE, round(self.fit.zpd_um, 4))

    def on_copy(self) -> None:
        if self.fit is not None:
            QtWidgets.QApplication.clipboard().setText(f"zero_path_delay_um = {self.fit.zpd_um:.3f}")

    def on_save(self) -> None:
        """The fitted ZPD into the calibration file (its other keys kept), read by every later run."""
        bench = self.model.bench
        path = calibration_file_path(bench.config) if bench is not None else None
        if self.fit is None:
            self.notice.setText("save refused: no fitted ZPD yet (run a scan)")
        elif path is None:
            self.notice.setText("save refused: the config names no [calibration] file; use Copy and paste the "
                                "line into [calibration]")
        else:
            zpd = round(self.fit.zpd_um, 4)
            try:
                write_calibration_file(path, zero_path_delay_um=zpd, source=str(self.model.run_status().path or "gui"))
            except (ConfigError, OSError, ValueError) as exc:
                self.notice.setText(f"save failed: {exc}")
                return
            self.notice.setText("")
            self.status.setText(f"zero_path_delay_um = {zpd:.4f} saved to {path}")

    # ------------------------------------------------------------------------------ periodic
    def refresh(self) -> None:
        rb = self.model.readbacks().stages.get(DELAY_ROLE)
        run = self.model.run_status()
        if rb is not None and rb.position is not None:
            self.centre.setText(f"{rb.position:.3f} um")
            self.stage_line.setValue(rb.position)
            self.stage_line.setVisible(True)
        connected = self.model.is_open and self.model.bench is not None
        self.start.setEnabled(connected and not run.active)
        scanning = self.scan is not None and run.active and run.sequence == "delay-scan"
        self.abort.setEnabled(scanning)
        self.move.setEnabled(connected and self.fit is not None)
        self.copy.setEnabled(self.fit is not None)
        self.save.setEnabled(connected and self.fit is not None)
        self.move.setToolTip(f"refused during {run.label}" if run.active else "move the delay stage to the fitted ZPD")
        self._show_move_errors()
        item = self.scan.state.get() if self.scan is not None else None
        if item is None or item.seq == self._seq:
            return
        self._seq = item.seq
        self._show(item.value)

    def _show_move_errors(self) -> None:
        for msg in self.model.messages_after(self._msg_seq):
            self._msg_seq = msg.seq
            if msg.level == "error" and (DELAY_ROLE in msg.text or "delay-scan" in msg.text):
                self.notice.setText(msg.text)

    def _show(self, state: ScanState) -> None:
        z = np.array([p.delay_um for p in state.points])
        v = np.array([p.visibility for p in state.points])
        self.points_item.setData(z, v)
        if len(v):  # from zero: a noise floor shows as flat, not magnified into a false envelope
            self.plot.setYRange(0.0, max(VISIBILITY_AXIS_MIN_TOP, 1.08 * float(np.nanmax(v))), padding=0)
        if (len(state.points), state.ended) != self._fitted:  # the end may come after the last point was shown
            self._fitted = (len(state.points), state.ended)
            self._refit(z, v, final=state.ended)
        done = f"{len(state.points)} / {state.planned} delays"
        if not state.ended:
            self.status.setText(f"scanning: {done}")
        elif state.outcome is None:
            self.status.setText("the scan did not start (see the message below)")
        else:
            self.status.setText(f"scan {state.outcome}: {done}" + (f" ({state.error})" if state.error else ""))

    def _refit(self, z: np.ndarray, v: np.ndarray, *, final: bool) -> None:
        try:
            fit = fit_coherence_envelope(z, v)
        except CoherenceFitError as exc:
            if final:
                self.fit = None
                self.fit_item.setData([], [])
                self.zpd_line.setVisible(False)
                self.result.setText("no ZPD: " + str(exc))
            return
        self.fit = fit
        grid = np.linspace(z.min(), z.max(), 400)
        self.fit_item.setData(grid, fit.model(grid))
        self.zpd_line.setValue(fit.zpd_um)
        self.zpd_line.setVisible(True)
        self.result.setText(fit_text(fit))
