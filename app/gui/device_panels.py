"""Device panels: they show the model's readbacks and send commands through it (never device I/O here).

Controls a device cannot do are disabled with a tooltip saying why; moves during a run are refused
by the model (BenchBusy naming the run), and the refusal is shown in the panel.
"""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets


def _fmt(value, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{(' ' + unit) if unit else ''}"


class Panel(QtWidgets.QWidget):
    """A form of readbacks plus a line for the last refusal or error of this panel's commands."""

    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.model = model
        self.form = QtWidgets.QFormLayout(self)
        self.notice = QtWidgets.QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #c62828;")
        self._msg_seq = 0
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(200)

    def _show_refusals(self, words: tuple[str, ...]) -> None:
        for msg in self.model.messages_after(self._msg_seq):
            self._msg_seq = msg.seq
            if msg.level == "error" and any(w in msg.text for w in words):
                self.notice.setText(msg.text)

    def refresh(self) -> None:  # pragma: no cover - overridden
        pass


class LaserPanel(Panel):
    def __init__(self, model, parent=None):
        super().__init__(model, parent)
        self.emission = QtWidgets.QLabel("-")
        self.setpoint = QtWidgets.QLabel("-")
        self.measured = QtWidgets.QLabel("-")
        self.interlock = QtWidgets.QLabel("-")
        self.power = QtWidgets.QDoubleSpinBox()
        self.power.setSuffix(" mW")
        self.power.setDecimals(2)
        self.power.setRange(0.0, 1000.0)
        self.set_power = QtWidgets.QPushButton("set")
        self.set_power.clicked.connect(lambda: model.set_power_w(self.power.value() / 1e3))
        self.on = QtWidgets.QPushButton("Emission ON...")
        self.on.clicked.connect(self._confirm_on)
        self.off = QtWidgets.QPushButton("Emission OFF")
        self.off.clicked.connect(lambda: model.emergency_laser_off("laser off from the laser panel"))
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.power)
        row.addWidget(self.set_power)
        switch = QtWidgets.QHBoxLayout()
        switch.addWidget(self.on)
        switch.addWidget(self.off)
        self.form.addRow("emission (readback)", self.emission)
        self.form.addRow("power setpoint", self.setpoint)
        self.form.addRow("measured power", self.measured)
        self.form.addRow("interlock", self.interlock)
        self.form.addRow("new setpoint", row)
        self.form.addRow(switch)
        self.form.addRow(self.notice)
        self._limits_set = False

    def _confirm_on(self) -> None:
        answer = QtWidgets.QMessageBox.question(
            self, "Laser emission", "Switch the pump laser emission ON?\nCheck that the beam path is safe.",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
            QtWidgets.QMessageBox.StandardButton.No)
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.model.set_emission(True)

    def refresh(self) -> None:
        state = self.model.readbacks().laser
        self._show_refusals(("laser",))
        if state is None:
            return
        self.emission.setText("ON" if state.emission else ("off" if state.emission is False else "unknown"))
        self.setpoint.setText(_fmt(state.setpoint_w and state.setpoint_w * 1e3, ".2f", "mW"))
        self.measured.setText(_fmt(None if state.measured_w is None else state.measured_w * 1e3, ".2f", "mW"))
        self.interlock.setText("not reported by this laser" if not state.has_interlock_readout else
                               {True: "closed (emission allowed)", False: "OPEN: emission blocked",
                                None: "unknown"}[state.interlock_closed])
        if state.limits_w and not self._limits_set:
            self.power.setRange(state.limits_w[0] * 1e3, state.limits_w[1] * 1e3)
            self.power.setToolTip(f"{state.limits_w[0] * 1e3:g} ... {state.limits_w[1] * 1e3:g} mW")
            self._limits_set = True
        if state.error:
            self.notice.setText(f"laser: {state.error}")
        busy = self.model.run_status().active
        self.on.setEnabled(state.connected and not busy)
        self.set_power.setEnabled(state.connected and not busy)
        tip = "a run controls the laser now" if busy else ""
        self.on.setToolTip(tip)


class StagePanel(Panel):
    """Position, limits, absolute move, jog +/- by a step, stop (when the device can)."""

    def __init__(self, model, role: str, parent=None):
        super().__init__(model, parent)
        self.role = role
        self.position = QtWidgets.QLabel("-")
        self.target_rb = QtWidgets.QLabel("-")
        self.limits = QtWidgets.QLabel("-")
        self.target = QtWidgets.QDoubleSpinBox()
        self.target.setDecimals(3)
        self.target.setRange(-1e6, 1e6)
        self.go = QtWidgets.QPushButton("move")
        self.step = QtWidgets.QDoubleSpinBox()
        self.step.setDecimals(3)
        self.step.setRange(0.001, 1e5)
        self.step.setValue(1.0)
        self.minus = QtWidgets.QPushButton("jog -")
        self.plus = QtWidgets.QPushButton("jog +")
        self.stop = QtWidgets.QPushButton("stop")
        for b in (self.minus, self.plus, self.stop):
            b.setMaximumWidth(64)
        self.go.clicked.connect(lambda: model.move_stage(role, self.target.value()))
        self.minus.clicked.connect(lambda: model.move_stage(role, -self.step.value(), relative=True))
        self.plus.clicked.connect(lambda: model.move_stage(role, self.step.value(), relative=True))
        self.stop.clicked.connect(lambda: model.stop_stage(role))
        move = QtWidgets.QHBoxLayout()
        move.addWidget(self.target)
        move.addWidget(self.go)
        jog = QtWidgets.QHBoxLayout()
        for w in (self.minus, self.step, self.plus, self.stop):
            jog.addWidget(w)
        self.form.addRow("position", self.position)
        self.form.addRow("target", self.target_rb)
        self.form.addRow("limits", self.limits)
        self.form.addRow("move to", move)
        self.form.addRow("jog step", jog)
        self.form.addRow(self.notice)
        self._unit = None

    def refresh(self) -> None:
        self._show_refusals((self.role,))
        state = self.model.readbacks().stages.get(self.role)
        if state is None:
            self.setEnabled(False)
            return
        self.setEnabled(True)
        if self._unit != state.unit:
            self._unit = state.unit
            for box in (self.target, self.step):
                box.setSuffix(f" {state.unit}")
        self.position.setText(_fmt(state.position, ".3f", state.unit))
        self.target_rb.setText(_fmt(state.target, ".3f", state.unit) + ("  (moving)" if state.moving else ""))
        if state.limits:
            self.limits.setText(f"{state.limits[0]:g} ... {state.limits[1]:g} {state.unit}")
            for box in (self.target,):
                box.setRange(*state.limits)
        self.stop.setEnabled(state.can_stop)
        self.stop.setToolTip("" if state.can_stop else "this stage cannot stop a move (its moves are immediate)")
        if state.error:
            self.notice.setText(f"{self.role}: {state.error}")
        busy = self.model.run_status()
        tip = f"refused during {busy.label}" if busy.active else ""
        for b in (self.go, self.minus, self.plus):
            b.setToolTip(tip)


class CameraPanel(Panel):
    def __init__(self, model, parent=None):
        super().__init__(model, parent)
        self.exposure_rb = QtWidgets.QLabel("-")
        self.roi = QtWidgets.QLabel("-")
        self.binning_rb = QtWidgets.QLabel("-")
        self.trigger_rb = QtWidgets.QLabel("-")
        self.temperature = QtWidgets.QLabel("-")
        self.rate = QtWidgets.QLabel("-")
        self.rate.setWordWrap(True)
        self.exposure = QtWidgets.QDoubleSpinBox()
        self.exposure.setSuffix(" ms")
        self.exposure.setDecimals(3)
        self.exposure.setRange(0.01, 60_000.0)
        self.exposure.setValue(100.0)
        self.set_exposure = QtWidgets.QPushButton("set")
        self.set_exposure.clicked.connect(lambda: model.set_exposure_s(self.exposure.value() / 1e3))
        self.binning = QtWidgets.QComboBox()
        self.binning.activated.connect(lambda _i: model.set_binning(int(self.binning.currentText())))
        self.trigger = QtWidgets.QComboBox()
        self.trigger.activated.connect(lambda _i: model.set_trigger(self.trigger.currentText()))
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.exposure)
        row.addWidget(self.set_exposure)
        self.roi_boxes = []
        roi_row = QtWidgets.QGridLayout()
        for i, name in enumerate(("x", "y", "width", "height")):
            box = QtWidgets.QSpinBox()
            box.setRange(0, 16384)
            box.setPrefix(f"{name} ")
            self.roi_boxes.append(box)
            roi_row.addWidget(box, i // 2, i % 2)
        self.set_roi = QtWidgets.QPushButton("set")
        self.set_roi.clicked.connect(lambda: model.set_camera_roi(*(b.value() for b in self.roi_boxes)))
        roi_row.addWidget(self.set_roi, 0, 2, 2, 1)
        self._roi_shown = self._exposure_shown = None
        self.form.addRow("frame rate", self.rate)
        self.form.addRow("exposure (readback)", self.exposure_rb)
        self.form.addRow("new exposure", row)
        self.form.addRow("ROI (sensor px)", self.roi)
        self.form.addRow("new ROI", roi_row)
        self.form.addRow("binning", self.binning_rb)
        self.form.addRow("set binning", self.binning)
        self.form.addRow("trigger", self.trigger_rb)
        self.form.addRow("set trigger", self.trigger)
        self.form.addRow("sensor temperature", self.temperature)
        self.form.addRow(self.notice)
        self._choices = self._modes = self._range = None

    def rate_text(self, state) -> str:
        """The camera's own reported rate and the rate measured from the frames of the current run."""
        camera_hz, arrival_hz = self.model.frame_rate.rates_hz()
        parts = [f"camera reports {state.frame_rate_hz:.2f} fps" if state.frame_rate_hz else "camera reports none"]
        if camera_hz is not None:
            parts.append(f"measured {camera_hz:.2f} fps (frame timestamps), {arrival_hz:.1f} fps arriving")
        else:
            parts.append("measured: no frames (the rate is measured during a run)")
        return "; ".join(parts)

    def _apply_capabilities(self, state) -> None:
        """Ranges and choices from the capability record; controls the camera cannot use are greyed out."""
        if self._modes != state.trigger_modes:
            self._modes = state.trigger_modes
            self.trigger.clear()
            self.trigger.addItems(list(state.trigger_modes))
            self.trigger.setEnabled(len(state.trigger_modes) > 1)
            self.trigger.setToolTip("" if len(state.trigger_modes) > 1 else "this camera has one trigger mode")
        if state.exposure_range_s and self._range != state.exposure_range_s:
            self._range = state.exposure_range_s
            lo, hi = state.exposure_range_s
            self.exposure.setRange(max(lo * 1e3, 0.001), min(hi * 1e3, 3_600_000.0))
            self.exposure.setToolTip(f"{lo * 1e3:g} ... {hi * 1e3:g} ms")
        if self._choices != state.binning_choices:
            self._choices = state.binning_choices
            self.binning.clear()
            self.binning.addItems([str(b) for b in state.binning_choices])
            self.binning.setEnabled(len(state.binning_choices) > 1)
            self.binning.setToolTip("" if len(state.binning_choices) > 1 else "this camera does not bin")

    def refresh(self) -> None:
        self._show_refusals(("camera",))
        state = self.model.readbacks().camera
        if state is None:
            return
        self._apply_capabilities(state)
        self.rate.setText(self.rate_text(state))
        self.exposure_rb.setText(_fmt(None if state.exposure_s is None else state.exposure_s * 1e3, ".3f", "ms"))
        if state.exposure_s is not None and self._exposure_shown != state.exposure_s and not self.exposure.hasFocus():
            self._exposure_shown = state.exposure_s  # prefill with the camera's exposure (never while it is edited)
            self.exposure.setValue(state.exposure_s * 1e3)
        if state.roi:
            x, y, w, h = state.roi
            sensor = f" of {state.sensor_shape[1]}x{state.sensor_shape[0]}" if state.sensor_shape else ""
            self.roi.setText(f"{w}x{h} at ({x}, {y}){sensor}")
            if self._roi_shown != state.roi:  # prefill the editor with the current ROI once it changes
                self._roi_shown = state.roi
                for box, value in zip(self.roi_boxes, state.roi):
                    box.setValue(value)
        self.binning_rb.setText(_fmt(state.binning, "d"))
        self.trigger_rb.setText(state.trigger or "-")
        self.temperature.setText(_fmt(state.temperature_c, ".1f", "degC")
                                 if state.has_temperature and state.temperature_c is not None
                                 else "not reported by this camera")
        if state.error:
            self.notice.setText(f"camera: {state.error}")
