"""Pick a sequence, fill its generated form, Start / Pause / Resume / Abort, progress with ETA, run state.

Also: named parameter sets per sequence (kept in the GUI settings), sequence files (the ``[[sequence]]``
TOML that ``qiup run --sequence-file`` runs, :mod:`app.engine.sequence_file`), and a duration estimate of
the current parameters before Start (planned off the GUI thread, :mod:`app.engine.duration`). Whatever is
loaded is checked with the CLI's ``validate_params``; each problem is one line under the buttons.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from app.engine.params import SEQUENCES, ParameterError, validate_params
from app.engine.sequence_file import read_sequence_file, savable_params, write_sequence_file
from app.gui.param_form import ParamForm
from app.gui.widgets import set_style

STATE_COLOURS = {"idle": "#616161", "running": "#2e7d32", "paused": "#f9a825", "aborting": "#c62828",
                 "done": "#1565c0", "failed": "#c62828"}


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class ProblemLines(QtWidgets.QPlainTextEdit):
    """Loading problems, one line each, in red; hidden when there are none. A read-only text box (not a
    wrapped label) so that long lines wrap without overlapping the panel's other rows."""

    def __init__(self):
        super().__init__()
        self.setReadOnly(True)
        self.setStyleSheet("color: #c62828;")
        self.setMaximumHeight(90)
        self.hide()

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:  # noqa: N802 - the QLabel name the panel uses
        self.setPlainText(text)
        self.setVisible(bool(text))


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
        scroll = QtWidgets.QScrollArea()  # the form, the set and file rows and the problems scroll together
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(200)
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
        self.sets = QtWidgets.QComboBox()
        self.sets.setToolTip("named parameter sets of this sequence (kept in the GUI settings)")
        self.load_set = QtWidgets.QPushButton("load")
        self.load_set.clicked.connect(lambda: self.load_parameter_set(self.sets.currentText()))
        self.delete_set = QtWidgets.QPushButton("delete")
        self.delete_set.clicked.connect(lambda: self.delete_parameter_set(self.sets.currentText()))
        self.set_name = QtWidgets.QLineEdit()
        self.set_name.setPlaceholderText("new set name")
        self.save_set = QtWidgets.QPushButton("save set")
        self.save_set.clicked.connect(lambda: self.save_parameter_set(self.set_name.text()))
        self.open_file = QtWidgets.QPushButton("open sequence file...")
        self.open_file.clicked.connect(self._pick_open)
        self.save_file = QtWidgets.QPushButton("save sequence file...")
        self.save_file.clicked.connect(self._pick_save)
        self.notice = ProblemLines()
        self.estimate = QtWidgets.QLabel("duration: -")  # one line (a wrapped label overlaps in a full dock)
        sets_row = QtWidgets.QHBoxLayout()
        for w in (QtWidgets.QLabel("set"), self.sets, self.load_set, self.delete_set):
            sets_row.addWidget(w)
        sets_row.setStretch(1, 1)
        save_row = QtWidgets.QHBoxLayout()
        save_row.addWidget(self.set_name, 1)
        save_row.addWidget(self.save_set)
        file_row = QtWidgets.QHBoxLayout()
        file_row.addWidget(self.open_file)
        file_row.addWidget(self.save_file)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("sequence"))
        top.addWidget(self.sequence, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.doc)
        content = QtWidgets.QWidget()
        inner = QtWidgets.QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.form)
        for row in (sets_row, save_row, file_row):
            inner.addLayout(row)
        inner.addStretch(1)
        scroll.setWidget(content)
        layout.addWidget(scroll, 3)
        layout.addWidget(self.notice)
        layout.addWidget(self.estimate)
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
        self._estimate_key = None
        self._estimate_generation = None
        self._estimate_due = QtCore.QTimer(self)  # re-plan 0.3 s after the last edit, not at every key press
        self._estimate_due.setSingleShot(True)
        self._estimate_due.timeout.connect(self.request_estimate)
        self.form.changed.connect(lambda: self._estimate_due.start(300))
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
        self._fill_sets()
        self.request_estimate()

    # ------------------------------------------------------------------------------ parameter sets and files
    def _problems(self, text: str) -> None:
        """Loading problems, one line each (no dialog); '' clears them."""
        self.notice.setText(text)

    def _fill_sets(self, current: str = "") -> None:
        self.sets.clear()
        self.sets.addItems(sorted(self.settings.param_sets.get(self.form.sequence, {})))
        if current:
            self.sets.setCurrentText(current)

    def _validated_form(self):
        """The form's parameters validated (as typed, savable), or None with the problems next to the fields."""
        params = self.form.validate()
        if params is None:
            self._problems("the parameters have problems (shown next to the fields): nothing saved")
        return params

    def save_parameter_set(self, name: str) -> bool:
        name = name.strip()
        if not name:
            self._problems("give the parameter set a name")
            return False
        params = self._validated_form()
        if params is None:
            return False
        self.settings.param_sets.setdefault(self.form.sequence, {})[name] = savable_params(params)
        self._fill_sets(name)
        self._problems("")
        return True

    def load_parameter_set(self, name: str) -> bool:
        values = self.settings.param_sets.get(self.form.sequence, {}).get(name)
        if values is None:
            self._problems(f"no parameter set {name!r} for {self.form.sequence}")
            return False
        return self._load(self.form.sequence, values, f"parameter set {name!r}")

    def delete_parameter_set(self, name: str) -> None:
        self.settings.param_sets.get(self.form.sequence, {}).pop(name, None)
        self._fill_sets()

    def _load(self, sequence: str, values: dict, source: str) -> bool:
        try:
            validate_params(sequence, values)
        except ParameterError as exc:
            self._problems("\n".join(f"{source}: {line}" for line in str(exc).splitlines()))
            return False
        self.settings.params[sequence] = dict(values)
        if sequence != self.form.sequence:
            self.sequence.setCurrentText(sequence)  # _select fills the form from settings.params
        else:
            self.form.set_model(sequence, SEQUENCES[sequence], values)
            self.request_estimate()
        self._problems("")
        return True

    def load_sequence_file(self, path: Path) -> bool:
        """The file's first sequence into the form; every problem one line (the file is checked whole)."""
        try:
            items = read_sequence_file(Path(path))
        except ParameterError as exc:
            self._problems(str(exc))
            return False
        name, values = items[0]
        ok = self._load(name, values, str(path))
        if ok and len(items) > 1:
            self._problems(f"{path}: holds {len(items)} sequences; loaded #1 ({name}). "
                           f"qiup run --sequence-file {path} runs them all")
        return ok

    def save_sequence_file(self, path: Path) -> bool:
        params = self._validated_form()
        if params is None:
            return False
        try:
            write_sequence_file(Path(path), [(self.form.sequence, params)])
        except OSError as exc:
            self._problems(f"{path}: cannot write the sequence file ({exc.strerror or exc})")
            return False
        self._problems("")
        return True

    def _pick_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open sequence file", "", "TOML (*.toml);;all (*)")
        if path:
            self.load_sequence_file(Path(path))

    def _pick_save(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save sequence file", f"{self.form.sequence}.toml",
                                                        "TOML (*.toml)")
        if path:
            self.save_sequence_file(Path(path))

    # ------------------------------------------------------------------------------ duration estimate
    def request_estimate(self) -> None:
        if self.form.sequence and self.model.is_open and self.model.bench is not None:
            self._estimate_key = self.model.request_estimate(self.form.sequence, self.form.values())
            self._estimate_generation = self.model.readbacks_generation()

    def _show_estimate(self) -> None:
        if self._estimate_key is None:
            self.request_estimate()
            return
        if self.model.readbacks_generation() != self._estimate_generation:  # exposure, ROI ... changed
            self.request_estimate()
        answer = self.model.estimate()
        if answer is None or answer.key != self._estimate_key:
            self.estimate.setText("duration: estimating ...")
            return
        if answer.error:
            self.estimate.setText("duration: - (" + answer.error.splitlines()[0].removeprefix(f"{self.form.sequence}: ")[:70]
                                  + ")")
            self.estimate.setToolTip(answer.error)
        elif isinstance(answer.value, str):
            self.estimate.setText(f"duration: {answer.value}")
            self.estimate.setToolTip("")
        else:
            est = answer.value
            self.estimate.setText(f"duration: about {duration_text(est.total_s)} ({est.frames} frames)")
            self.estimate.setToolTip(est.summary() + "\nassumes: " + "\n".join(est.assumptions) +
                                     "\nnot counted: computing results, suspensions, pauses, frames a "
                                     "free-running camera drops after a move")

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
        set_style(self.state, f"background: {colour}; color: white; font-size: 16px; font-weight: bold;"
                                 " padding: 4px; border-radius: 4px;")
        connected = self.model.is_open and self.model.bench is not None
        self.start.setEnabled(connected and not status.active)
        self.pause.setEnabled(status.state == "running")
        self.resume.setEnabled(status.state == "paused")
        self.abort.setEnabled(status.active)
        self.sequence.setEnabled(not status.active)
        self.form.setEnabled(not status.active)
        for w in (self.load_set, self.open_file):
            w.setEnabled(not status.active)
        if not status.active:
            self._show_estimate()
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
