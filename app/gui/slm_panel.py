"""The SLM panel: the current mask, which correction and LUT are active (name, hash), and loading them.

A correction file (``app/wavefront/masks.Correction`` JSON) or Zernike coefficients typed here become a
mask through ``compose_mask``; a LUT file goes to the SLM's ``set_lut``. Every device call goes through the
model's command thread; problems come back as one line in the panel.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from app.gui.device_panels import Panel
from app.gui.widgets import SmallGraphicsLayout

MAX_COEFFICIENT_RAD = 50.0  # rad RMS of SLM phase: far beyond any aberration a panel can correct


def parse_zernike(text: str) -> dict[int, float]:
    """``"5=0.3, 7=-0.2"`` (Noll index = rad RMS) -> {5: 0.3, 7: -0.2}; ValueError with one line otherwise."""
    out: dict[int, float] = {}
    for item in (t.strip() for t in text.replace(";", ",").split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        try:
            j = int(key.strip().removeprefix("Z").removeprefix("z"))
            c = float(value)
        except ValueError:
            j, c = 0, math.nan
        if not sep or j < 1 or not math.isfinite(c) or abs(c) > MAX_COEFFICIENT_RAD:
            raise ValueError(f"Zernike term {item!r}: write Noll index = rad RMS, e.g. 5=0.3 (index >= 1, "
                             f"|coefficient| <= {MAX_COEFFICIENT_RAD:g} rad)")
        if j in out:
            raise ValueError(f"Zernike mode {j} is given twice")
        out[j] = c
    return out


class SlmPanel(Panel):
    def __init__(self, model, parent=None):
        super().__init__(model, parent)
        self.shape = QtWidgets.QLabel("-")
        self.active = QtWidgets.QLabel("-")
        self.active.setWordWrap(True)
        self.lut = QtWidgets.QLabel("-")
        self.lut.setWordWrap(True)
        self.view = SmallGraphicsLayout()
        self.view.setMinimumHeight(120)
        self.plot = self.view.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.hideAxis("bottom")
        self.plot.hideAxis("left")
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("CET-C1").getLookupTable(nPts=256, alpha=False))
        self.plot.addItem(self.image)
        self.zernike = QtWidgets.QLineEdit()
        self.zernike.setPlaceholderText("Noll = rad RMS, e.g. 5=0.3, 7=-0.2")
        self.zernike.setToolTip("rad RMS of SLM phase over the configured pupil (decision 0046); "
                                "shown as compose_mask(correction) on the SLM")
        self.show_zernike = QtWidgets.QPushButton("show")
        self.show_zernike.clicked.connect(self.on_show_zernike)
        self.open_correction = QtWidgets.QPushButton("load correction file...")
        self.open_correction.clicked.connect(self._pick_correction)
        self.open_lut = QtWidgets.QPushButton("load LUT file...")
        self.open_lut.clicked.connect(self._pick_lut)
        self.flat = QtWidgets.QPushButton("show flat mask")
        self.flat.clicked.connect(model.show_flat_slm)
        zernike = QtWidgets.QHBoxLayout()
        zernike.addWidget(self.zernike, 1)
        zernike.addWidget(self.show_zernike)
        files = QtWidgets.QGridLayout()  # two per row: the panel's column is narrow
        for i, b in enumerate((self.open_correction, self.open_lut, self.flat)):
            files.addWidget(b, *divmod(i, 2))
        self.form.addRow("SLM pixels", self.shape)
        self.form.addRow("active mask", self.active)
        self.form.addRow("LUT", self.lut)
        self.form.addRow(QtWidgets.QLabel("current mask (phase 0 ... 2 pi, cyclic colours)"))
        self.form.addRow(self.view)  # the whole panel's width: a 16:9 SLM is wide
        self.form.addRow("Zernike", zernike)
        self.form.addRow(files)
        self.form.addRow(self.notice)
        self._time = None
        self._mask_shown = None

    # ------------------------------------------------------------------------------ commands
    def load_correction(self, path: Path) -> None:
        self.notice.setText("")
        self.model.show_slm_correction_file(Path(path))

    def load_lut(self, path: Path) -> None:
        self.notice.setText("")
        self.model.load_slm_lut(Path(path))

    def on_show_zernike(self) -> None:
        try:
            coefficients = parse_zernike(self.zernike.text())
        except ValueError as exc:
            self.notice.setText(f"SLM: {exc}")
            return
        self.notice.setText("")
        self.model.show_slm_zernike(coefficients)

    def _pick_correction(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "SLM correction", "", "correction (*.json);;all (*)")
        if path:
            self.load_correction(Path(path))

    def _pick_lut(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "SLM LUT", "", "LUT (*.txt *.lut *.csv);;all (*)")
        if path:
            self.load_lut(Path(path))

    # ------------------------------------------------------------------------------ display
    def refresh(self) -> None:
        self._show_refusals(("SLM",))
        state = self.model.readbacks().slm
        for w in (self.show_zernike, self.open_correction, self.open_lut, self.flat):
            w.setEnabled(state is not None and state.connected)
        if state is None:
            return
        if state.shape:
            self.shape.setText(f"{state.shape[1]} x {state.shape[0]}")
        self.active.setText(f"#{state.mask_id}: {state.mask_label or '(no label)'}  (dither: {state.dither or '-'})"
                            if state.mask_id else "nothing shown yet (phase 0)")
        self.lut.setText(f"{state.lut_name or '-'}  sha256:{state.lut_sha256[:12]}" if state.lut_sha256 else
                         state.lut_name or "-")
        preview = state.mask_preview_rad
        if preview is not None and preview is not self._mask_shown:
            self._mask_shown = preview
            self.image.setImage(np.asarray(preview), autoLevels=False, levels=(0.0, 2 * np.pi))
        if state.error:
            self.notice.setText(f"SLM: {state.error}")
