"""The results of a run file: every result map with a colour bar, axes in um on the sample and a line
profile; the complex view; for delay scans slices, the maximum projection and x-delay sections of the
volumes; export of the map shown to PNG (as displayed) and OME-TIFF (data, with its pixel size).

Reads go through a :class:`~app.gui.run_files.FileWorker`; the GUI thread polls for them and never waits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from app.gui import run_files as F
from app.gui.map_style import PHASE_CMAP, line_samples, map_title, unit_text, value_label
from app.gui.shown_maps import (COMPLEX, PROJECTION, SECTION, SLICE, Shown, complex_parts, not_computed_reason,
                                plane_text, read_shown)
from app.storage.figures import PHASE_TICKS


REPEAT_MODE_TEXTS = ("one repeat", "maximum over repeats", "section x - repeat")  # a time series' stacks


class ResultsView(QtWidgets.QWidget):
    """``show_file(opened)`` shows an :class:`~app.gui.run_files.OpenedFile`; everything else follows."""

    def __init__(self, worker: F.FileWorker | None = None, parent=None, poll_ms: int = 40):
        super().__init__(parent)
        self._own_worker = worker is None
        self.worker = worker or F.FileWorker()
        self.opened: F.OpenedFile | None = None
        self.shown: Shown | None = None
        self._job: F.Job | None = None
        self._export_job: F.Job | None = None
        self._building = False

        self.header = QtWidgets.QLabel("no run file open: File > Open run..., or pick one in Runs")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("font-weight: bold;")
        self.choice = QtWidgets.QComboBox()
        self.choice.setMinimumContentsLength(24)
        self.choice.currentIndexChanged.connect(self._choice_changed)
        self.export_png_button = QtWidgets.QPushButton("Export PNG...")
        self.export_png_button.setToolTip("the map as displayed: axes, colour bar and title")
        self.export_png_button.clicked.connect(lambda: self._export_dialog("png"))
        self.export_tiff_button = QtWidgets.QPushButton("Export TIFF...")
        self.export_tiff_button.setToolTip("the displayed map's data as OME-TIFF (float32) with its pixel size in um")
        self.export_tiff_button.clicked.connect(lambda: self._export_dialog("tiff"))
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("map"))
        top.addWidget(self.choice, 1)
        top.addWidget(self.export_png_button)
        top.addWidget(self.export_tiff_button)

        self.mode = QtWidgets.QComboBox()
        self.mode.addItems([SLICE, PROJECTION, SECTION])
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.plane = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.plane.valueChanged.connect(self._plane_changed)
        self._positions: dict[tuple[str, int], int] = {}  # (result, mode) -> the plane or row last shown
        self.plane_label = QtWidgets.QLabel("")
        self.plane_label.setMinimumWidth(220)
        self.stack_row = QtWidgets.QWidget()
        stack = QtWidgets.QHBoxLayout(self.stack_row)
        stack.setContentsMargins(0, 0, 0, 0)
        for w in (self.mode, self.plane, self.plane_label):
            stack.addWidget(w)
        self.stack_row.hide()

        self.graphics = pg.GraphicsLayoutWidget()
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.rgb = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.plot.addItem(self.rgb)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), width=16, interactive=False,
                                   colorMapMenu=False)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.bar.axis.setWidth(78)  # room for 5-digit tick labels and the label beside them
        self.line = pg.LineSegmentROI([[0, 0], [1, 1]], pen=pg.mkPen("#ffeb3b", width=2))
        self.line.setZValue(10)
        self.plot.addItem(self.line)
        self.line.sigRegionChanged.connect(self._update_profile)
        self.column = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#ffeb3b", width=2))  # a section's A-scan
        self.column.setZValue(10)
        self.column.hide()
        self.plot.addItem(self.column)
        self.column.sigPositionChanged.connect(self._update_profile)
        self.profile = pg.PlotWidget()
        self.profile.setMaximumHeight(170)
        self.profile_curve = self.profile.plot(pen=pg.mkPen("#ffeb3b"))
        self.note = QtWidgets.QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.header)
        layout.addLayout(top)
        layout.addWidget(self.stack_row)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.profile)
        layout.addWidget(self.note)
        self._set_enabled(False)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(poll_ms)

    # ------------------------------------------------------------------------------ opening
    def show_file(self, opened: F.OpenedFile) -> None:
        """Show ``opened``'s results; keeps the chosen map (and plane) when the same file is shown again."""
        same = self.opened is not None and self.opened.path == opened.path
        keep = self.current_key() if same else None
        self.opened = opened
        self.header.setText(f"{opened.path.name}: {F.status_text(opened)}")
        self.header.setToolTip(str(opened.path))
        self._building = True
        self.choice.clear()
        for name in F.image_results(opened):
            r = opened.results[name]
            state = "" if r.written_bytes else "  (not computed)"
            dims = " x ".join(str(n) for n in r.shape)
            self.choice.addItem(f"{map_title(name)} [{unit_text(r.unit)}]  {dims}{state}", name)
        if complex_parts(opened) is not None:
            self.choice.insertItem(self._complex_position(), "complex view (hue: phase, brightness: visibility)",
                                   COMPLEX)
        self._building = False
        index = self.choice.findData(keep) if keep else -1
        if index < 0:
            index = self.choice.findData(self._first_choice())
        self.choice.setCurrentIndex(max(index, 0))
        self._choice_changed()
        self._set_enabled(self.choice.count() > 0)
        if self.choice.count() == 0:
            self.note.setText("this file has no image results")

    def _first_choice(self) -> str | None:
        for name in ("amplitude", "visibility", "depth_um", "volume", "reference_visibility", "dark"):
            if name in self.opened.results and F.computed(self.opened, name):
                return name
        return self.choice.itemData(0) if self.choice.count() else None

    def _complex_position(self) -> int:
        index = self.choice.findData("phase")
        return index + 1 if index >= 0 else self.choice.count()

    def current_key(self) -> str | None:
        return self.choice.currentData()

    def _set_enabled(self, on: bool) -> None:
        for w in (self.choice, self.export_png_button, self.export_tiff_button):
            w.setEnabled(on)

    # ------------------------------------------------------------------------------ choosing
    def _choice_changed(self, *_args) -> None:
        if self._building or self.opened is None:
            return
        key = self.current_key()
        is_stack = key not in (None, COMPLEX) and len(self.opened.results[key].shape) == 3
        self.stack_row.setVisible(is_stack)
        if is_stack:
            axis, _values = self.opened.stack_axis(key)
            self.mode.blockSignals(True)
            texts = (SLICE, PROJECTION, SECTION) if axis == "delay" else REPEAT_MODE_TEXTS
            for i, text in enumerate(texts):
                self.mode.setItemText(i, text)
            self.mode.blockSignals(False)
            self._mode_changed()
        else:
            self._request()

    def _mode_changed(self, *_args) -> None:
        key = self.current_key()
        if key in (None, COMPLEX) or self.opened is None:
            return
        n, h, _w = self.opened.results[key].shape
        top = {0: n - 1, 1: 0, 2: h - 1}[self.mode.currentIndex()]
        self.plane.blockSignals(True)
        value = min(self._positions.get((key, self.mode.currentIndex()), top // 2 if top else 0), top)
        self.plane.setRange(0, top)
        self.plane.setValue(value)
        self.plane.setEnabled(top > 0)
        self.plane.setVisible(self.mode.currentIndex() != 1)  # a projection has no plane to choose
        self.plane.blockSignals(False)
        self._request()

    def _plane_changed(self, value: int) -> None:
        self._positions[(self.current_key(), self.mode.currentIndex())] = value
        self._request()

    def select(self, key: str, mode: str | None = None, index: int | None = None) -> None:
        """Show result ``key`` (for a stack: ``mode`` SLICE / PROJECTION / SECTION at ``index``)."""
        i = self.choice.findData(key)
        if i < 0:
            raise KeyError(f"no result {key!r} in {self.opened.path if self.opened else 'no file'}")
        self.choice.setCurrentIndex(i)
        if mode is not None:
            self.mode.setCurrentIndex([SLICE, PROJECTION, SECTION].index(mode))
        if index is not None:
            self.plane.setValue(index)

    # ------------------------------------------------------------------------------ reading
    def _request(self) -> None:
        opened, key = self.opened, self.current_key()
        if opened is None or key is None:
            return
        if key != COMPLEX and not F.computed(opened, key):
            self._clear(f"{key}: {not_computed_reason(opened)}")
            return
        mode, index = self._mode_and_index(key)
        self._job = self.worker.request("results-map", lambda: read_shown(opened, key, mode, index))
        self.note.setText("reading ...")

    def _mode_and_index(self, key: str) -> tuple[str, int]:
        if key == COMPLEX or len(self.opened.results[key].shape) == 2:
            return "map", -1
        mode = [SLICE, PROJECTION, SECTION][self.mode.currentIndex()]
        return mode, (-1 if mode == PROJECTION else self.plane.value())

    # ------------------------------------------------------------------------------ showing
    def poll(self) -> None:
        """On the GUI timer: show a finished read; report a finished export."""
        job = self._job
        if job is not None and job.done:
            self._job = None
            if job.error is not None:
                if job.error != "superseded by a newer request":
                    self._clear(f"cannot show it: {job.error}")
            else:
                self._display(job.value)
        export = self._export_job
        if export is not None and export.done:
            self._export_job = None
            self.note.setText(export.error and f"TIFF export failed: {export.error}" or export.value)

    def _clear(self, text: str) -> None:
        self.shown = None
        self.image.clear()
        self.rgb.clear()
        self.profile_curve.setData([], [])
        self.note.setText(text)

    def _display(self, shown: Shown) -> None:
        if shown.key != self.current_key():
            return  # the user chose another map meanwhile
        geometry = (shown.x0, shown.y0, shown.width, shown.height, shown.data.shape[:2])
        old = self.shown
        first = old is None or (old.x0, old.y0, old.width, old.height, old.data.shape[:2]) != geometry
        self.shown = shown  # the view and the profile line stay where they were while the geometry does
        rect = QtCore.QRectF(shown.x0, shown.y0, shown.width, shown.height)
        cmap = pg.colormap.get(shown.cmap)
        self.bar.setColorMap(cmap)
        if shown.is_rgb:
            self.image.clear()
            self.rgb.setImage(shown.data, autoLevels=False)
            self.rgb.setRect(rect)
            self.bar.setLevels(shown.levels)
            self.bar.axis.setLabel("hue: phase (rad)")
        else:
            self.rgb.clear()
            self.image.setImage(shown.data, autoLevels=False, levels=shown.levels)
            self.image.setRect(rect)
            self.bar.setLevels(shown.levels)
            self.bar.axis.setLabel(value_label(shown.key, shown.unit))
        self.bar.axis.setTicks([list(PHASE_TICKS)] if shown.cmap == PHASE_CMAP else None)  # -pi .. pi in units of pi
        self.plot.setTitle(shown.title)
        self.plot.setLabel("bottom", shown.x_label)
        self.plot.setLabel("left", shown.y_label)
        self.plot.setAspectLocked(shown.square_pixels)
        self.plane_label.setText(plane_text(self.opened, shown.key, shown.index) if shown.mode == SLICE else
                                 (self._section_label(shown) if shown.mode == SECTION else ""))
        self.line.setVisible(not shown.is_rgb and shown.mode != SECTION)
        self.column.setVisible(shown.mode == SECTION)
        self.profile.setVisible(not shown.is_rgb)
        if first:
            self.plot.vb.setRange(rect=rect, padding=0.02)
            self._place_line(shown)
            self.column.setValue(shown.x0 + shown.width / 2)
        self._update_profile()
        r = self.opened.results.get(shown.key)
        self.note.setText(f"{shown.key}: {r.description}" if r is not None and r.description else "")

    def _section_label(self, shown: Shown) -> str:
        h = self.opened.results[shown.key].shape[1]
        return f"row {shown.index + 1} of {h}"

    def _place_line(self, shown: Shown) -> None:
        """A horizontal line through the middle of the map, pixel centre to pixel centre."""
        h, w = shown.data.shape[:2]
        scale = shown.pixel_size_um or 1.0
        y = (h // 2 + 0.5) * scale
        self.line.blockSignals(True)
        self.line.setPos(0, 0)
        handles = self.line.getHandles()
        self.line.movePoint(handles[0], QtCore.QPointF(0.5 * scale, y), finish=False)
        self.line.movePoint(handles[1], QtCore.QPointF((w - 0.5) * scale, y), finish=False)
        self.line.blockSignals(False)

    def line_profile(self) -> tuple[np.ndarray, np.ndarray]:
        """(distance along the line in um (or px), values) of the map shown, nearest pixel, one per pixel; for
        a section, (delay of each plane, values) down the column under the vertical line (an A-scan)."""
        shown = self.shown
        if shown is None or shown.is_rgb:
            return np.zeros(0), np.zeros(0)
        scale = shown.pixel_size_um or 1.0
        if shown.mode == SECTION:
            n, w = shown.data.shape
            column = int(np.clip((self.column.value() - shown.x0) / scale, 0, w - 1))
            return shown.y0 + (np.arange(n) + 0.5) * shown.height / n, shown.data[:, column]
        origin = self.line.pos()
        start, end = [((origin.x() + p.x()) / scale, (origin.y() + p.y()) / scale) for p in self.line.listPoints()]
        return line_samples(shown.data, start, end, scale)

    def _update_profile(self) -> None:
        shown = self.shown
        if shown is None or not self.profile.isVisible():
            return
        distance, values = self.line_profile()
        self.profile_curve.setData(distance, values, connect="finite")
        if shown.mode == SECTION:
            x_um = self.column.value()
            self.profile.setTitle(f"at x = {x_um:.1f} {'um' if shown.pixel_size_um else 'px'} (the vertical line)")
            self.profile.setLabel("bottom", shown.y_label)
        else:
            self.profile.setTitle(None)
            self.profile.setLabel("bottom", f"distance along the line ({'um' if shown.pixel_size_um else 'px'})")
        self.profile.setLabel("left", value_label(shown.key, shown.unit))

    # ------------------------------------------------------------------------------ export
    def default_export_path(self, kind: str) -> Path:
        shown, opened = self.shown, self.opened
        suffix = {"map": "", SLICE: f"-plane{shown.index:04d}", PROJECTION: "-max", SECTION: f"-row{shown.index:04d}"}
        stem = f"{opened.path.with_suffix('').name}-{shown.key}{suffix[shown.mode]}"
        return opened.path.parent / (f"{stem}.png" if kind == "png" else f"{stem}.ome.tif")

    def _export_dialog(self, kind: str) -> None:
        if self.shown is None:
            self.note.setText("nothing shown to export")
            return
        filters = "PNG image (*.png)" if kind == "png" else "OME-TIFF (*.ome.tif *.tif)"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, f"Export the displayed map ({kind.upper()})",
                                                        str(self.default_export_path(kind)), filters)
        if path:
            self.export_png(Path(path)) if kind == "png" else self.export_tiff(Path(path))

    def export_png(self, path: Path, width_px: int = 1400) -> Path:
        """The displayed map as on screen (title naming the file, axes, colour bar; no profile markers)."""
        import pyqtgraph.exporters

        markers = [(item, item.isVisible()) for item in (self.line, self.column)]
        for item, _visible in markers:
            item.hide()
        if self.shown is not None:
            self.plot.setTitle(f"{self.opened.path.name}: {self.shown.title}")
        try:
            exporter = pyqtgraph.exporters.ImageExporter(self.graphics.ci)
            exporter.parameters()["width"] = width_px
            exporter.export(str(path))
        finally:
            for item, visible in markers:
                item.setVisible(visible)
            if self.shown is not None:
                self.plot.setTitle(self.shown.title)
        self.note.setText(f"PNG written: {path}")
        return Path(path)

    def export_tiff(self, path: Path) -> F.Job | None:
        """The displayed map's data as an OME-TIFF with its pixel size (on the worker thread)."""
        from app.storage.export import MapToExport, write_ome_tiff

        shown = self.shown
        if shown is None or shown.is_rgb or shown.mode == SECTION:
            why = "the complex view is a picture (export it as PNG, or phase and visibility as TIFF)" if shown \
                and shown.is_rgb else "a section mixes x and delay (export slices, or the volume with qiup export)"
            self.note.setText(f"TIFF export: {why}")
            return None
        r = self.opened.results[shown.key]
        description = (r.description or map_title(shown.key)) + (f"; {shown.title}" if shown.mode != "map" else "")
        export = MapToExport(shown.key, shown.data, "YX", r.unit, description, pixel_size_um=shown.pixel_size_um)
        source = str(self.opened.path)

        def write() -> str:
            written = write_ome_tiff(Path(path), export, source=source)
            return f"TIFF written: {written.path}" + "".join(f"; {w}" for w in written.warnings)
        self._export_job = self.worker.request("results-export", write)
        self.note.setText(f"writing {path} ...")
        return self._export_job

    def close_worker(self) -> None:
        self.timer.stop()
        if self._own_worker:
            self.worker.close()
