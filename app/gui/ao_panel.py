"""The adaptive-optics panel: start the engine's ``adaptive-optics`` sequence, plot the metric of each
measurement as it arrives, then the mode coefficients found and the ROI visibility before / after.

:class:`AoWatch` listens to the run's ``result_ready`` events on the runner's thread, reads each new row
from the run file (SWMR, read-only) and publishes an :class:`AoState` to a latest-value; the panel's
timer only pulls it (decision 0040: no device or file I/O on the GUI thread). When the run ends the
state is completed from the runner's in-memory results (the same values the file holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from app.gui.widgets import SmallGraphicsLayout, SmallPlotWidget
from app.signals import LatestValue

SEQUENCE = "adaptive-optics"
METRIC_LABELS = {"visibility": "ROI-mean fringe visibility (1)", "sharpness": "visibility-map sharpness (1)"}


@dataclass(frozen=True)
class AoState:
    """What the panel shows: metric per measurement so far, the newest coefficients, and the end results."""

    noll: tuple[int, ...]
    planned: int
    metric: np.ndarray  # one value per measurement taken
    coefficients_rad_rms: np.ndarray | None = None  # shown at the newest measurement, then the correction found
    ended: bool = False
    outcome: str | None = None  # complete | aborted | failed once ended
    error: str | None = None
    before: np.ndarray | None = None  # ROI visibility maps
    after: np.ndarray | None = None
    mask_file: Path | None = None
    log: str = ""


def parse_modes(text: str) -> list[int]:
    """``"5, 6, 7"`` or ``"5-8"`` -> Noll indices; ValueError with one line otherwise."""
    modes: list[int] = []
    for item in (t.strip() for t in text.replace(";", ",").split(",")):
        lo, dash, hi = item.partition("-")
        try:
            modes += list(range(int(lo), int(hi) + 1)) if dash else ([int(item)] if item else [])
        except ValueError:
            raise ValueError(f"modes: {item!r} is not a Noll index; write e.g. 5, 6, 7 or 5-16") from None
    if not modes:
        raise ValueError("modes: give at least one Noll index, e.g. 5, 6, 7")
    return modes


class AoWatch:
    """Per-measurement metric and coefficients of one adaptive-optics run (``BenchModel.start_run`` watcher)."""

    def __init__(self, noll: list[int], path_of):
        self.noll = tuple(noll)
        self.path_of = path_of  # -> the run file's path (the model knows it when the watcher attaches)
        self.state: LatestValue[AoState] = LatestValue()
        self._runner = None
        self._path: Path | None = None
        self._metric: list[float] = []
        self._planned = 0
        self._log = ""

    def attach(self, runner, plan) -> None:
        self._planned = next(s.shape[0] for s in plan.results if s.name == "metric")
        self._path, self._runner = self.path_of(), runner
        runner.events.result_ready.connect(self._on_result)
        runner.events.warning.connect(self._on_log)
        runner.events.state_changed.connect(self._on_state)
        self.state.publish(AoState(self.noll, self._planned, np.zeros(0)))

    def detach(self, outcome: str | None = None, error: str | None = None) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        runner.events.result_ready.disconnect(self._on_result)
        runner.events.warning.disconnect(self._on_log)
        runner.events.state_changed.disconnect(self._on_state)
        self._publish_end(runner.result if outcome is not None else None, outcome, error)  # None: never started

    def _on_log(self, text: str) -> None:  # the procedure's log lines (cycle steps, the final summary)
        self._log = text

    def _on_result(self, name: str, index) -> None:
        """``coefficients_rad_rms[i]`` follows ``metric[i]``: read both rows once both are in the file."""
        if name != "coefficients_rad_rms" or index is None or self._path is None:
            return
        from app.storage import open_run_file

        with open_run_file(self._path) as h5:
            results = h5["results"]
            value, row = float(results["metric"][index]), np.array(results["coefficients_rad_rms"][index])
        self._metric.append(value)
        self.state.publish(AoState(self.noll, self._planned, np.array(self._metric), row, log=self._log))

    def _on_state(self, new, _old) -> None:
        if getattr(new, "value", str(new)) in ("done", "failed"):
            result = self._runner.result if self._runner is not None else None
            self.detach(result.status if result is not None else "failed", result.error if result else None)

    def _publish_end(self, result, outcome, error) -> None:
        got = result.results if result is not None else {}
        metric = np.asarray(got.get("metric", self._metric), np.float64)
        metric = metric[np.isfinite(metric)]
        correction = got.get("correction_rad_rms")
        finite = correction is not None and np.all(np.isfinite(correction))
        mask = result.path.with_suffix(".correction.json") if result is not None and result.path else None
        maps = [m if m is not None and np.isfinite(m).any() else None
                for m in (got.get("visibility_before"), got.get("visibility_after"))]
        self.state.publish(AoState(self.noll, self._planned, metric, np.array(correction) if finite else None,
                                   True, outcome, error, maps[0], maps[1],
                                   mask if mask is not None and mask.exists() else None, self._log))


def _plot(left: str, bottom: str) -> pg.PlotWidget:
    plot = SmallPlotWidget()
    plot.setMinimumHeight(130)
    item = plot.getPlotItem()
    for side, text in (("left", left), ("bottom", bottom)):
        item.getAxis(side).enableAutoSIPrefix(False)
        item.setLabel(side, text)
    item.showGrid(x=True, y=True, alpha=0.25)
    return plot


class AoPanel(QtWidgets.QWidget):
    """Method, modes, bias, cycles, metric; Start / Abort; metric plot, coefficient bars, before/after maps."""

    def __init__(self, model, parent=None, period_ms: int = 150):
        super().__init__(parent)
        self.model = model
        self.watch: AoWatch | None = None
        self.mask_file: Path | None = None
        self._seq, self._msg_seq = 0, 0
        self.method = QtWidgets.QComboBox()
        self.method.addItems(["2n+1", "n+1"])
        self.method.setToolTip("2n+1: a parabola per mode (2 biased + 1 shared measurement); n+1: quadratic model")
        self.modes = QtWidgets.QLineEdit("5-10")
        self.modes.setToolTip("Noll indices corrected, e.g. 5, 6, 7 or 5-16")
        self.bias = QtWidgets.QDoubleSpinBox(minimum=0.01, maximum=3.0, value=0.35, suffix=" rad RMS")
        self.bias.setToolTip("bias per mode (rad RMS of SLM phase over the pupil)")
        self.cycles, self.frames, self.roi = QtWidgets.QSpinBox(), QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for box, lo, hi, value, suffix, tip in (
                (self.cycles, 1, 20, 2, "", "passes over all the modes"),
                (self.frames, 1, 1000, 1, "", "frames averaged at each of the 4 piezo steps of a burst"),
                (self.roi, 4, 4096, 64, " px", "side of the square ROI at the frame centre the metric uses")):
            box.setRange(lo, hi)
            box.setValue(value)
            box.setSuffix(suffix)
            box.setToolTip(tip)
        self.metric = QtWidgets.QComboBox()
        self.metric.addItems(list(METRIC_LABELS))
        self.start = QtWidgets.QPushButton("Start AO")
        self.start.setToolTip("an adaptive-optics run (laser on during it); the correction stays on the SLM")
        self.start.clicked.connect(self.on_start)
        self.abort = QtWidgets.QPushButton("Abort")
        self.abort.clicked.connect(model.abort)
        self.status, self.notice, self.saved = (QtWidgets.QLabel(t) for t in ("no AO run yet", "", "correction file: -"))
        for label in (self.status, self.notice, self.saved):
            label.setWordWrap(True)
        self.notice.setStyleSheet("color: #c62828;")
        self.saved.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.load = QtWidgets.QPushButton("Load into SLM panel")
        self.load.setToolTip("show this correction file on the SLM (as the SLM panel's 'load correction file')")
        self.load.clicked.connect(self.on_load)
        self.metric_plot = _plot(METRIC_LABELS["visibility"], "measurement index")
        self.metric_item = self.metric_plot.plot([], [], pen=pg.mkPen("#1565c0", width=1), symbol="o",
                                                 symbolSize=6, symbolBrush="#1565c0")
        self.bar_plot = _plot("coefficient (rad RMS of SLM phase)", "Noll index j")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush="#ef6c00")
        self.bar_plot.addItem(self.bars)
        self._build_maps()
        form = QtWidgets.QGridLayout()  # two label-field columns: the plots and maps fit below without scrolling
        for i, (label, widget) in enumerate((("method", self.method), ("modes (Noll)", self.modes),
                                             ("bias", self.bias), ("cycles", self.cycles), ("metric", self.metric),
                                             ("ROI", self.roi), ("frames per step", self.frames))):
            row, col = divmod(i, 2)
            form.addWidget(QtWidgets.QLabel(label), row, 2 * col)
            form.addWidget(widget, row, 2 * col + 1)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.start, self.abort, self.load):
            buttons.addWidget(b)
        plots = QtWidgets.QHBoxLayout()
        for plot in (self.metric_plot, self.bar_plot):
            plots.addWidget(plot)
        layout = QtWidgets.QVBoxLayout(self)
        for part in (form, buttons, self.status, self.notice, self.saved):
            (layout.addLayout if isinstance(part, QtWidgets.QLayout) else layout.addWidget)(part)
        layout.addLayout(plots, 1)
        layout.addWidget(self.maps, 1)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(period_ms)
        self.refresh()

    def _build_maps(self) -> None:
        self.maps = SmallGraphicsLayout()
        self.images = {}
        for col, key in enumerate(("before", "after")):
            plot = self.maps.addPlot(row=0, col=col, title=f"visibility {key}")
            plot.setAspectLocked(True)
            plot.invertY(True)
            plot.setLabels(bottom="x (ROI px)", left="y (ROI px)")
            for side in ("bottom", "left"):
                plot.getAxis(side).enableAutoSIPrefix(False)  # pixels, never "(x0.001)" on an empty view
            image = pg.ImageItem(axisOrder="row-major")
            plot.addItem(image)
            self.images[key] = (plot, image)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"),
                                          label="fringe visibility (1)", interactive=False)
        self.colour_bar.setImageItem([img for _, img in self.images.values()])
        self.maps.addItem(self.colour_bar, row=0, col=2)

    # ------------------------------------------------------------------------------ commands
    def params(self) -> dict:
        """The run's parameters from the form (ValueError with one line for bad modes)."""
        return {"method": self.method.currentText(), "modes": parse_modes(self.modes.text()),
                "bias_rad": self.bias.value(), "cycles": self.cycles.value(), "metric": self.metric.currentText(),
                "roi_px": self.roi.value(), "frames_per_step": self.frames.value()}

    def on_start(self) -> None:
        run = self.model.run_status()
        if run.active:
            self.notice.setText(f"AO refused: {run.label} owns the bench")
            return
        try:
            params = self.params()
        except ValueError as exc:
            self.notice.setText(f"AO refused: {exc}")
            return
        self.notice.setText("")
        messages = self.model.messages_after(0)
        self._msg_seq = messages[-1].seq if messages else 0
        self.watch, self._seq, self.mask_file = AoWatch(params["modes"], lambda: self.model.run_status().path), 0, None
        self.metric_plot.getPlotItem().setLabel("left", METRIC_LABELS[params["metric"]])
        self.metric_item.setData([], [])
        self.bars.setOpts(x=[], height=[])
        for _, image in self.images.values():
            image.clear()
        self.saved.setText("correction file: -")
        self.model.start_run(SEQUENCE, params, watcher=self.watch)
        self.status.setText(f"starting adaptive optics on Noll {params['modes']}")

    def on_load(self) -> None:
        if self.mask_file is not None:
            self.model.show_slm_correction_file(self.mask_file)

    # ------------------------------------------------------------------------------ periodic
    def refresh(self) -> None:
        run = self.model.run_status()
        connected = self.model.is_open and self.model.bench is not None
        self.start.setEnabled(connected and not run.active)
        self.abort.setEnabled(self.watch is not None and run.active and run.sequence == SEQUENCE)
        self.load.setEnabled(connected and not run.active and self.mask_file is not None)
        for msg in self.model.messages_after(self._msg_seq):
            self._msg_seq = msg.seq
            if msg.level == "error" and (SEQUENCE in msg.text or "SLM" in msg.text):
                self.notice.setText(msg.text)
        item = self.watch.state.get_newer(self._seq) if self.watch is not None else None
        if item is not None:
            self._seq = item.seq
            self._show(item.value)

    def _show(self, s: AoState) -> None:
        self.metric_item.setData(np.arange(s.metric.size), s.metric)
        if s.coefficients_rad_rms is not None:
            self.bars.setOpts(x=np.array(s.noll, float), height=np.asarray(s.coefficients_rad_rms), width=0.6)
            self.bar_plot.getPlotItem().getAxis("bottom").setTicks([[(j, str(j)) for j in s.noll]])
        done = f"{s.metric.size} / {s.planned} measurements"
        if not s.ended:
            self.bar_plot.getPlotItem().setTitle(f"shown at measurement {s.metric.size - 1}")
            self.status.setText(f"running: {done}" + (f"  -  {s.log}" if s.log else ""))
            return
        found = s.coefficients_rad_rms is not None
        self.bar_plot.getPlotItem().setTitle("correction found" if found else "no correction (the run did not finish)")
        if not found:
            self.bars.setOpts(x=[], height=[])
        self.status.setText(f"AO {s.outcome}: {done}" + (f" ({s.error})" if s.error else "")
                            + (f"  -  {s.log}" if s.log and s.outcome == "complete" else ""))
        self._show_maps(s.before, s.after)
        self.mask_file = s.mask_file
        self.saved.setText(f"correction file: {s.mask_file}" if s.mask_file else "correction file: none saved")

    def _show_maps(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        shown = [m for m in (before, after) if m is not None]
        if not shown:
            return
        hi = max(float(np.nanmax(m)) for m in shown)
        levels = (0.0, hi if np.isfinite(hi) and hi > 0 else 1.0)  # the same colour levels side by side
        for key, data in (("before", before), ("after", after)):
            plot, image = self.images[key]
            if data is None:
                image.clear()
                plot.setTitle(f"visibility {key}: -")
                continue
            image.setImage(np.asarray(data), autoLevels=False, levels=levels)
            plot.setTitle(f"visibility {key}: ROI mean {np.nanmean(data):.3f}")
        self.colour_bar.setLevels(levels)
