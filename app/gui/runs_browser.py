"""The runs browser: open any run file (a file dialog or the runs folder's newest files), also one being
written or left by a crash, and show its status (honestly), parameters, devices, log and summary; its
maps go to the results view. Every read is on the file worker; files are only ever opened read-only.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from app.gui import run_files as F

STATUS_COLOURS = {"complete": "#2e7d32", "running": "#1565c0", "aborted": "#e65100", "failed": "#c62828",
                  "crashed": "#c62828", "results": "#2e7d32"}
LIVE_REFRESH_MS = 1500  # a file being written is read again this often


class RunsBrowser(QtWidgets.QWidget):
    """``open_path(path)`` reads a file on the worker and hands it to ``on_open`` (the results view)."""

    def __init__(self, runs_dir: Path, worker: F.FileWorker | None = None,
                 on_open: Callable[[F.OpenedFile], None] | None = None, parent=None, poll_ms: int = 50):
        super().__init__(parent)
        self.runs_dir = Path(runs_dir)
        self._own_worker = worker is None
        self.worker = worker or F.FileWorker()
        self.on_open = on_open
        self.opened: F.OpenedFile | None = None
        self._open_job: F.Job | None = None
        self._list_job: F.Job | None = None
        self._wanted: Path | None = None

        self.open_button = QtWidgets.QPushButton("Open run...")
        self.open_button.setToolTip("open any qiup run file or results file (read-only; also while it is written)")
        self.open_button.clicked.connect(self.open_dialog)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_list)
        self.folder = QtWidgets.QLabel(f"runs folder: {self.runs_dir}")
        self.folder.setToolTip(str(self.runs_dir.resolve()))
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.refresh_button)
        top.addWidget(self.folder, 1)
        self.recent = QtWidgets.QTreeWidget()
        self.recent.setHeaderLabels(["file", "status", "sequence", "modified"])
        self.recent.setRootIsDecorated(False)
        self.recent.setMaximumHeight(200)
        self.recent.itemActivated.connect(lambda item, _col: self.open_path(item.data(0, QtCore.Qt.ItemDataRole.UserRole)))
        self.recent.itemClicked.connect(lambda item, _col: self.open_path(item.data(0, QtCore.Qt.ItemDataRole.UserRole)))

        self.status = QtWidgets.QLabel("no file open")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QtWidgets.QTabWidget()
        self.summary = self._text_tab("Summary")
        self.parameters = QtWidgets.QTableWidget(0, 2)
        self.parameters.setHorizontalHeaderLabels(["parameter", "value"])
        self.parameters.horizontalHeader().setStretchLastSection(True)
        self.parameters.verticalHeader().hide()
        self.tabs.addTab(self.parameters, "Parameters")
        self.devices = QtWidgets.QTreeWidget()
        self.devices.setHeaderLabels(["device", "value"])
        self.tabs.addTab(self.devices, "Devices")
        self.log = self._text_tab("Log")
        self.config = self._text_tab("Config")

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.recent)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(poll_ms)
        self.live_timer = QtCore.QTimer(self)
        self.live_timer.timeout.connect(self._reread_live)
        self.live_timer.start(LIVE_REFRESH_MS)
        self.refresh_list()

    def _text_tab(self, title: str) -> QtWidgets.QPlainTextEdit:
        text = QtWidgets.QPlainTextEdit()
        text.setReadOnly(True)
        text.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        text.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.tabs.addTab(text, title)
        return text

    # ------------------------------------------------------------------------------ requests
    def open_dialog(self) -> None:
        start = str(self.opened.path.parent if self.opened else self.runs_dir)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a qiup run file", start,
                                                        "qiup run files (*.h5 *.hdf5);;all files (*)")
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> None:
        """Read ``path`` on the worker (read-only); shown when read. A newer request replaces this one."""
        self._wanted = Path(path)
        self._open_job = self.worker.request("runs-open", lambda p=Path(path): F.open_file(p))
        self.status.setText(f"reading {Path(path).name} ...")

    def refresh_list(self) -> None:
        self._list_job = self.worker.request("runs-list", lambda d=self.runs_dir: F.list_runs(d))

    def _reread_live(self) -> None:
        """A file still being written is read again (its progress, and its results once it ends)."""
        opened = self.opened
        if opened is not None and opened.writer_alive and self._open_job is None:
            self._open_job = self.worker.request("runs-open", lambda p=opened.path: F.open_file(p))

    # ------------------------------------------------------------------------------ answers
    def poll(self) -> None:
        job = self._open_job
        if job is not None and job.done:
            self._open_job = None
            if job.error is not None:
                if job.error != "superseded by a newer request":
                    self._show_error(job.error)
            else:
                was_live = self.opened is not None and self.opened.path == job.value.path and self.opened.writer_alive
                self._show(job.value)
                if was_live and not job.value.writer_alive:
                    self.refresh_list()  # it ended: its status in the list changed
        job = self._list_job
        if job is not None and job.done:
            self._list_job = None
            if job.error is None:
                self._fill_list(job.value)

    def _show_error(self, text: str) -> None:
        self.status.setText(f"cannot open: {text}")
        self.status.setStyleSheet(f"color: {STATUS_COLOURS['failed']}; font-weight: bold;")

    def _show(self, opened: F.OpenedFile) -> None:
        if self._wanted is not None and opened.path != self._wanted:
            return
        self.opened = opened
        self.status.setText(F.status_text(opened))
        self.status.setToolTip(str(opened.path))
        crashed = opened.status == "running" and not opened.writer_alive
        colour = STATUS_COLOURS.get("crashed" if crashed else opened.status, "#424242")
        self.status.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.summary.setPlainText(opened.summary)
        self._fill_details(opened)
        if self.on_open is not None:
            self.on_open(opened)

    def _fill_details(self, opened: F.OpenedFile) -> None:
        stored = opened.stored
        params = dict(stored.parameters) if opened.is_run else dict(stored.attrs)
        self.parameters.setRowCount(len(params))
        for row, (key, value) in enumerate(params.items()):
            self.parameters.setItem(row, 0, QtWidgets.QTableWidgetItem(str(key)))
            text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
            self.parameters.setItem(row, 1, QtWidgets.QTableWidgetItem(text))
        self.parameters.resizeColumnToContents(0)
        self.devices.clear()
        for role, identity in (stored.identities.items() if opened.is_run else ()):
            item = QtWidgets.QTreeWidgetItem([role, identity.get("model", identity.get("name", ""))])
            for key, value in identity.items():
                item.addChild(QtWidgets.QTreeWidgetItem([key, value]))
            self.devices.addTopLevelItem(item)
        self.devices.expandAll()
        self.devices.resizeColumnToContents(0)
        lines = []
        if opened.is_run and stored.failure:
            lines.append(f"FAILURE: {stored.failure}\n")
        for entry in (stored.log if opened.is_run else ()):
            when = datetime.datetime.fromtimestamp(entry.time_s).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"{when}  {entry.level:<8} {entry.message}")
        self.log.setPlainText("\n".join(lines) or "(no log entries)")
        self.config.setPlainText(stored.config_text if opened.is_run else "(a results file holds no config)")

    def _fill_list(self, entries: list[F.RunEntry]) -> None:
        self.recent.clear()
        for e in entries:
            when = datetime.datetime.fromtimestamp(e.modified_s).strftime("%Y-%m-%d %H:%M:%S")
            item = QtWidgets.QTreeWidgetItem([e.path.name, e.status, e.sequence, when])
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, e.path)
            item.setToolTip(0, str(e.path))
            colour = STATUS_COLOURS.get(e.status)
            if colour:
                item.setForeground(1, QtGui.QBrush(QtGui.QColor(colour)))
            self.recent.addTopLevelItem(item)
        for col in range(4):
            self.recent.resizeColumnToContents(col)

    def close_worker(self) -> None:
        self.timer.stop()
        self.live_timer.stop()
        if self._own_worker:
            self.worker.close()
