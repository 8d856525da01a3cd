"""Pick a sequence, fill its generated form, Start / Pause / Resume / Abort, progress with ETA, run state."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from app.engine.params import SEQUENCES
from app.gui.param_form import ParamForm

STATE_COLOURS = {"idle": "#616161", "running": "#2e7d32", "paused": "#f9a825", "aborting": "#c62828",
                 "done": "#1565c0", "failed": "#c62828"}


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class SequencePanel(QtWidgets.QWidget):
    def __init__(self, model, settings, parent=None):
        super().__init__(parent)
        self.model, self.settings = model, settings
        self.sequence = QtWidgets.QComboBox()
        self.sequence.addItems(list(SEQUENCES))
        self.doc = QtWidgets.QLabel()
        self.doc.setWordWrap(True)
        self.doc.setStyleSheet("color: #555;")
        self.form = ParamForm()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setMinimumHeight(260)
        self.setMinimumWidth(340)
        self.start = QtWidgets.QPushButton("Start")
        self.pause = QtWidgets.QPushButton("Pause")
        self.resume = QtWidgets.QPushButton("Resume")
        self.abort = QtWidgets.QPushButton("Abort")
        self.start.clicked.connect(self.on_start)
        self.pause.clicked.connect(model.pause)
        self.resume.clicked.connect(model.resume)
        self.abort.clicked.connect(model.abort)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.start, self.pause, self.resume, self.abort):
            buttons.addWidget(b)
        self.state = QtWidgets.QLabel("IDLE")
        self.state.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QtWidgets.QLabel("")
        self.file = QtWidgets.QLabel("")
        self.file.setWordWrap(True)
        self.file.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setPlaceholderText("suspender, phase-lock and device messages appear here")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("sequence"))
        top.addWidget(self.sequence, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.doc)
        layout.addWidget(scroll, 3)
        layout.addLayout(buttons)
        layout.addWidget(self.state)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addWidget(self.file)
        layout.addWidget(QtWidgets.QLabel("messages"))
        layout.addWidget(self.log, 1)
        self.sequence.setCurrentText(settings.sequence if settings.sequence in SEQUENCES else "phase-stepping")
        self._select(self.sequence.currentText())
        self.sequence.currentTextChanged.connect(self._select)
        self._msg_seq = 0
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(100)
        self.refresh()

    def _select(self, name: str) -> None:
        if self.form.sequence:
            self.settings.params[self.form.sequence] = self.form.values()
        model = SEQUENCES[name]
        self.doc.setText((model.__doc__ or "").strip())
        self.form.set_model(name, model, self.settings.params.get(name))
        self.settings.sequence = name

    def remember(self) -> None:
        """Keep the current form's values in the settings (saved with the window)."""
        self.settings.params[self.form.sequence] = self.form.values()

    def on_start(self) -> None:
        params = self.form.validate()
        if params is None:
            return
        self.remember()
        self.model.start_run(self.form.sequence, self.form.values())

    def refresh(self) -> None:
        status = self.model.run_status()
        text = status.state.upper()
        if status.result_status and not status.active:
            text += f" ({status.result_status})"
        if status.sequence:
            text += f" - {status.sequence}"
        self.state.setText(text)
        colour = STATE_COLOURS.get(status.state, "#616161")
        self.state.setStyleSheet(f"background: {colour}; color: white; font-size: 16px; font-weight: bold;"
                                 " padding: 4px; border-radius: 4px;")
        connected = self.model.is_open and self.model.bench is not None
        self.start.setEnabled(connected and not status.active)
        self.pause.setEnabled(status.state == "running")
        self.resume.setEnabled(status.state == "paused")
        self.abort.setEnabled(status.active)
        self.sequence.setEnabled(not status.active)
        self.form.setEnabled(not status.active)
        if status.frames_total:
            self.progress.setValue(int(1000 * status.frames_done / status.frames_total))
            self.progress.setFormat(f"{status.frames_done} / {status.frames_total} frames (%p%)")
        self.eta.setText(f"stage {status.stage or '-'}   elapsed {duration_text(status.elapsed_s)}   "
                         f"ETA {duration_text(status.eta_s) if status.active else '-'}")
        self.file.setText(f"run file: {status.path}" if status.path else "run file: (none)")
        for msg in self.model.messages_after(self._msg_seq):
            self._msg_seq = msg.seq
            prefix = {"warning": "! ", "error": "ERROR "}.get(msg.level, "")
            self.log.appendPlainText(f"{prefix}{msg.text}")
