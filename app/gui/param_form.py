"""A parameter form generated from a sequence's pydantic model (types, defaults, limits, descriptions).

Values are collected as the raw strings a user typed and checked with the same ``validate_params`` the
CLI uses; each problem is shown in red next to its field, problems without a field under the form.
"""

from __future__ import annotations

import re
import types
import typing

from pydantic import BaseModel
from PyQt6 import QtCore, QtWidgets

from app.engine.params import ParameterError, validate_params

_UNITS = {"_s": "s", "_w": "W", "_um": "um", "_rad": "rad", "_v": "V", "_hz": "Hz"}


def field_limits(info) -> str:
    """'3 <= x <= 64' style text from a pydantic field's constraints ('' when unconstrained)."""
    parts = []
    for item in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sym} {value:g}" if isinstance(value, (int, float)) else f"{sym} {value}")
    return ", ".join(parts)


def field_unit(name: str) -> str:
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix):
            return unit
    return ""


def _base_type(annotation):
    """float | None -> (float, True); list[float] -> (list, False)."""
    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        optional = type(None) in args
        annotation = next(a for a in args if a is not type(None))
    origin = typing.get_origin(annotation)
    return (origin or annotation), optional


class ParamForm(QtWidgets.QWidget):
    """Rows of (name, editor, unit) plus an error line per field; ``values()`` gives the raw dict."""

    changed = QtCore.pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setVerticalSpacing(2)
        self._editors: dict[str, QtWidgets.QWidget] = {}
        self._errors: dict[str, QtWidgets.QLabel] = {}
        self._general = QtWidgets.QLabel()
        self._general.setStyleSheet("color: #c62828;")
        self._general.setWordWrap(True)
        self.sequence = ""
        self.model: type[BaseModel] | None = None

    def set_model(self, sequence: str, model: type[BaseModel], values: dict | None = None) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None and item.widget() is not self._general:
                item.widget().hide()  # deleteLater is deferred: hidden now so no stale row is painted
                item.widget().deleteLater()
        self._editors.clear()
        self._errors.clear()
        self.sequence, self.model = sequence, model
        values = values or {}
        row = 0
        for name, info in model.model_fields.items():
            kind, optional = _base_type(info.annotation)
            limits = field_limits(info)
            tip = " ".join(x for x in (info.description or "", f"({limits})" if limits else "") if x)
            label = QtWidgets.QLabel(name)
            label.setToolTip(tip)
            default = info.default
            if kind is bool:
                editor = QtWidgets.QCheckBox()
                editor.setChecked(bool(values.get(name, default)))
                editor.toggled.connect(self.changed)
            elif name == "raw_compression":
                editor = QtWidgets.QComboBox()
                editor.addItems(["lzf", "gzip", "none"])
                editor.setCurrentText(str(values.get(name, default)))
                editor.currentTextChanged.connect(self.changed)
            else:
                editor = QtWidgets.QLineEdit()
                shown = "config" if default is None else (f"{default:g}" if isinstance(default, float) else str(default))
                editor.setPlaceholderText(f"{shown}" + (f"   ({limits})" if limits else ""))
                if name in values and values[name] not in (None, ""):
                    raw = values[name]
                    editor.setText(", ".join(str(v) for v in raw) if isinstance(raw, list) else str(raw))
                if kind is list:
                    editor.setToolTip(tip + " comma-separated")
                editor.textChanged.connect(self.changed)
            editor.setToolTip(editor.toolTip() or tip)
            editor.setObjectName(f"param_{name}")
            unit = QtWidgets.QLabel(field_unit(name))
            error = QtWidgets.QLabel()
            error.setStyleSheet("color: #c62828;")
            error.setWordWrap(True)
            error.hide()
            self._grid.addWidget(label, row, 0)
            self._grid.addWidget(editor, row, 1)
            self._grid.addWidget(unit, row, 2)
            self._grid.addWidget(error, row + 1, 1, 1, 2)
            self._editors[name], self._errors[name] = editor, error
            row += 2
        self._grid.addWidget(self._general, row, 0, 1, 3)
        self._general.hide()

    def editor(self, name: str) -> QtWidgets.QWidget:
        return self._editors[name]

    def values(self) -> dict:
        """The raw values the user set (empty fields are left to their defaults)."""
        out: dict = {}
        for name, editor in self._editors.items():
            if isinstance(editor, QtWidgets.QCheckBox):
                default = self.model.model_fields[name].default
                if editor.isChecked() != bool(default):
                    out[name] = editor.isChecked()
            elif isinstance(editor, QtWidgets.QComboBox):
                if editor.currentText() != self.model.model_fields[name].default:
                    out[name] = editor.currentText()
            else:
                text = editor.text().strip()
                if not text:
                    continue
                kind, _ = _base_type(self.model.model_fields[name].annotation)
                out[name] = [v.strip() for v in text.strip("[]").split(",") if v.strip()] if kind is list else text
        return out

    def validate(self) -> BaseModel | None:
        """Validated parameters, or None with every problem shown next to its field."""
        for error in self._errors.values():
            error.hide()
        self._general.hide()
        try:
            return validate_params(self.sequence, self.values())
        except ParameterError as exc:
            general = []
            for line in str(exc).splitlines():
                match = re.search(r"parameter (\w+)=", line)
                if match and match.group(1) in self._errors:
                    label = self._errors[match.group(1)]
                    label.setText(line.split(": ", 2)[-1])
                    label.show()
                else:
                    general.append(line.removeprefix(f"{self.sequence}: "))
            if general:
                self._general.setText("\n".join(general))
                self._general.show()
            return None
