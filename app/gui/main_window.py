"""The main window: dockable panels, status bar, EMISSION indicator, LASER OFF button and Esc."""

from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from app.gui.alignment_panel import AlignmentPanel
from app.gui.ao_panel import AoPanel
from app.gui.bench_model import BenchModel
from app.gui.device_panels import CameraPanel, LaserPanel, StagePanel
from app.gui.dock_layout import first_size, hide_stray_tab_bars
from app.gui.gui_thread_gc import GuiThreadGarbageCollector
from app.gui.live_view import LiveView
from app.gui.maps_view import MapsView
from app.gui.results_view import ResultsView
from app.gui.run_files import FileWorker
from app.gui.runs_browser import RunsBrowser
from app.gui.sequence_panel import SequencePanel
from app.gui.slm_panel import SlmPanel
from app.gui.settings import load_settings, save_settings
from app.gui.widgets import set_style

EMISSION_ON_STYLE = ("background: #d50000; color: white; font-size: 20px; font-weight: bold; padding: 4px 14px;"
                     " border: 3px solid #ffeb3b; border-radius: 6px;")
EMISSION_OFF_STYLE = ("background: #37474f; color: #eceff1; font-size: 16px; padding: 4px 14px;"
                      " border-radius: 6px;")
EMISSION_UNKNOWN_STYLE = ("background: #ff6f00; color: white; font-size: 16px; font-weight: bold;"
                          " padding: 4px 14px; border-radius: 6px;")


class MainWindow(QtWidgets.QMainWindow):
    """Owns the :class:`BenchModel`; closing it aborts any run, switches the laser off, closes the bench."""

    def __init__(self, config_path: Path, *, runs_dir: Path = Path("runs"), settings_path: Path):
        super().__init__()
        self.settings_path = settings_path
        self.settings, warning = load_settings(settings_path)
        self.settings_warning = warning
        self.settings.last_config = str(config_path)
        self.setWindowTitle(f"qiup - {config_path}")
        self.garbage = GuiThreadGarbageCollector()  # before any worker thread allocates
        self.model = BenchModel(config_path, runs_dir)
        self.model.open()
        self._closing_done = False

        self.live = LiveView(self.model)
        self.setCentralWidget(self.live)
        self.maps = MapsView(self.model, period_ms=100)  # polls faster than the ~6.7 Hz the model publishes
        self.live.roi_changed.connect(self.maps.set_roi)
        self.sequence = SequencePanel(self.model, self.settings)
        self.files = FileWorker()  # every run-file read, off the GUI thread
        self.results = ResultsView(self.files)
        self.runs = RunsBrowser(runs_dir, self.files, on_open=self.results.show_file)
        self._results_for: Path | None = None  # the finished run whose results were last shown
        self.panels = {
            "sequence": self._dock("Sequence", self.sequence, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            "maps": self._dock("QIUP maps", self.maps, QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            "alignment": self._dock("Coherence alignment", AlignmentPanel(self.model),
                                    QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            "ao": self._dock("Adaptive optics", AoPanel(self.model), QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            "laser": self._dock("Laser", LaserPanel(self.model), QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            "phase_piezo": self._dock("Phase piezo", StagePanel(self.model, "phase_piezo"),
                                      QtCore.Qt.DockWidgetArea.BottomDockWidgetArea),
            "delay_stage": self._dock("Delay stage", StagePanel(self.model, "delay_stage"),
                                      QtCore.Qt.DockWidgetArea.BottomDockWidgetArea),
            "camera": self._dock("Camera", CameraPanel(self.model), QtCore.Qt.DockWidgetArea.BottomDockWidgetArea),
            "slm": self._dock("SLM", SlmPanel(self.model), QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            "results": self._dock("Results", self.results, QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            "runs": self._dock("Runs", self.runs, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
        }
        self.tabifyDockWidget(self.panels["sequence"], self.panels["laser"])
        self.tabifyDockWidget(self.panels["laser"], self.panels["slm"])
        self.tabifyDockWidget(self.panels["slm"], self.panels["runs"])
        self.tabifyDockWidget(self.panels["maps"], self.panels["results"])
        self.tabifyDockWidget(self.panels["results"], self.panels["alignment"])
        self.tabifyDockWidget(self.panels["alignment"], self.panels["ao"])
        self.panels["sequence"].raise_()
        self.panels["maps"].raise_()
        file_menu = self.menuBar().addMenu("&File")
        self.open_run_action = QtGui.QAction("&Open run...", self)
        self.open_run_action.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        self.open_run_action.triggered.connect(self.open_run)
        file_menu.addAction(self.open_run_action)
        self._build_toolbar()
        self._build_status_bar()
        self._restore_layout()
        esc = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), self)
        esc.setContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)
        esc.activated.connect(lambda: self.model.emergency_laser_off("Esc pressed"))
        self.esc_shortcut = esc
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(50)
        if warning:
            self.statusBar().showMessage(warning, 20_000)

    # ------------------------------------------------------------------------------ building
    def _dock(self, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        """A dock holding ``widget`` in a scroll area: the panel fills the dock when there is room and
        scrolls when there is not, so the window fits a laptop screen (``panel(name)`` gives it back)."""
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(widget)
        dock.setWidget(scroll)
        self.addDockWidget(area, dock)
        return dock

    def panel(self, name: str) -> QtWidgets.QWidget:
        """The panel shown in dock ``name`` (a key of ``panels``)."""
        return self.panels[name].widget().widget()

    def _build_toolbar(self) -> None:
        bar = QtWidgets.QToolBar("Safety")
        bar.setObjectName("toolbar_safety")
        bar.setMovable(False)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)
        self.laser_off = QtWidgets.QPushButton("LASER OFF  (Esc)")
        self.laser_off.setMinimumHeight(44)
        self.laser_off.setStyleSheet("background: #b71c1c; color: white; font-size: 18px; font-weight: bold;"
                                     " padding: 4px 18px; border-radius: 6px;")
        self.laser_off.setToolTip("switch the pump emission off now (also aborts a run)")
        self.laser_off.clicked.connect(lambda: self.model.emergency_laser_off("LASER OFF button"))
        bar.addWidget(self.laser_off)
        spacer = QtWidgets.QWidget()
        spacer.setFixedWidth(16)
        bar.addWidget(spacer)
        self.emission = QtWidgets.QLabel("emission ?")
        self.emission.setMinimumHeight(44)
        self.emission.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.emission)
        self.run_state = QtWidgets.QLabel("")
        self.run_state.setStyleSheet("font-size: 15px; font-weight: bold; padding-left: 16px;")
        bar.addWidget(self.run_state)
        view = self.menuBar().addMenu("&View")
        for dock in self.panels.values():
            view.addAction(dock.toggleViewAction())

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.bench_label = QtWidgets.QLabel("bench: (opening)")
        self.device_labels: dict[str, QtWidgets.QLabel] = {}
        self.file_label = QtWidgets.QLabel("run file: -")
        self.file_label.setMaximumWidth(460)  # the full path is in the tooltip
        status.addPermanentWidget(self.bench_label)
        for role in ("laser", "phase_piezo", "delay_stage", "slm", "camera"):
            label = QtWidgets.QLabel(f"{role} ?")
            self.device_labels[role] = label
            status.addPermanentWidget(label)
        status.addPermanentWidget(self.file_label)

    def _restore_layout(self) -> None:
        s = self.settings
        try:
            if s.geometry_hex:
                self.restoreGeometry(QtCore.QByteArray.fromHex(s.geometry_hex.encode()))
            else:  # first start: 1600 x 1000, or the screen's free area when smaller
                self.resize(first_size(self))
                self.resizeDocks([self.panels["sequence"], self.panels["maps"]], [360, 600],
                                 QtCore.Qt.Orientation.Horizontal)
                stage = self.panel("phase_piezo")  # the bottom row: the stage panels whole, the camera's scrolls
                self.resizeDocks([self.panels["phase_piezo"]], [stage.sizeHint().height() + 24],
                                 QtCore.Qt.Orientation.Vertical)
            if s.state_hex:
                self.restoreState(QtCore.QByteArray.fromHex(s.state_hex.encode()))
        except Exception as exc:  # noqa: BLE001 - a bad layout never blocks start-up
            self.settings_warning = f"window layout not restored ({exc})"

    def open_run(self) -> None:
        """File > Open run...: any run file, read-only; its maps in Results, its details in Runs."""
        self.panels["runs"].raise_()
        self.panels["results"].raise_()
        self.runs.open_dialog()

    def _show_finished_run(self, run) -> None:
        """When the GUI's run has ended, its file's results go to the results view (once per run)."""
        if run.path is not None and not run.active and run.result_status and run.path != self._results_for:
            self._results_for = run.path
            self.runs.open_path(run.path)
            self.runs.refresh_list()
            self.panels["results"].raise_()

    # ------------------------------------------------------------------------------ periodic
    def refresh(self) -> None:
        hide_stray_tab_bars(self)  # Qt may leave one after any regrouping, the user's too
        model = self.model
        rb = model.readbacks()
        laser = rb.laser
        if laser is None or laser.emission is None:
            self.emission.setText("EMISSION ?")
            set_style(self.emission, EMISSION_UNKNOWN_STYLE)
            self.emission.setToolTip(laser.error if laser and laser.error else "no laser readback yet")
        elif laser.emission:
            power = f" {laser.measured_w * 1e3:.1f} mW" if laser.measured_w is not None else ""
            self.emission.setText(f"EMISSION ON{power}")
            set_style(self.emission, EMISSION_ON_STYLE)
        else:
            self.emission.setText("emission off")
            set_style(self.emission, EMISSION_OFF_STYLE)
        self.bench_label.setText(f"bench: {model.bench_name}" + (" - NOT CONNECTED" if model.open_error else ""))
        states = {"laser": laser, "camera": rb.camera, "slm": rb.slm, **rb.stages}
        for role, label in self.device_labels.items():
            state = states.get(role)
            if state is None:
                label.setText(f"{role}: -")
                set_style(label, "color: #757575;")
            else:
                ok = state.connected and not state.error
                label.setText(f"{role}: {'connected' if ok else ('ERROR' if state.error else 'closed')}")
                set_style(label, "color: #2e7d32;" if ok else "color: #c62828; font-weight: bold;")
                label.setToolTip(state.error or "")
        run = model.run_status()
        name = run.path.name if run.path else "-"
        self.file_label.setText(f"writing {name}" if run.path and run.active else
                                (f"last run: {name} ({run.result_status})" if run.path else "run file: -"))
        self.file_label.setToolTip(str(run.path) if run.path else "")
        self.run_state.setText(f"run: {run.state}" + (f" - {run.sequence} {run.frames_done}/{run.frames_total}"
                                                        if run.active else ""))
        self._show_finished_run(run)

    # ------------------------------------------------------------------------------ closing
    def close_on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGQUIT or Ctrl-C: close at once without asking (run aborted, laser off)."""
        self._closing_by_signal = signum
        self.close()

    def ask_abort_on_close(self, label: str) -> bool:
        if getattr(self, "_closing_by_signal", None) is not None:
            return True  # a signal asked for the exit: nobody is there to answer a dialog
        answer = QtWidgets.QMessageBox.question(
            self, "A run is active", f"{label} is running.\nAbort it and close qiup?\n"
            "(The file keeps everything taken so far, status 'aborted'; the laser is switched off.)",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
            QtWidgets.QMessageBox.StandardButton.No)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt name
        if self._closing_done:
            event.accept()
            return
        run = self.model.run_status()
        if run.active and not self.ask_abort_on_close(run.label):
            event.ignore()
            return
        self.sequence.remember()
        self.settings.geometry_hex = bytes(self.saveGeometry().toHex()).decode()
        self.settings.state_hex = bytes(self.saveState().toHex()).decode()
        problem = save_settings(self.settings_path, self.settings)
        for timer in self.findChildren(QtCore.QTimer):
            timer.stop()
        self.statusBar().showMessage("closing: aborting the run, laser off, closing devices ...")
        QtWidgets.QApplication.processEvents()
        self.model.close()
        self.files.close()
        if problem:
            print(f"qiup: {problem}")
        self.garbage.stop()  # every worker thread has ended
        self._closing_done = True
        event.accept()
