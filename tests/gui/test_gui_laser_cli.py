"""The EMISSION indicator follows the laser's readback; emission on needs a confirmation; ``qiup gui``."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from app.cli import main
from tests.gui.conftest import gui_config, wait_until


def test_emission_indicator_follows_the_laser_readback_not_the_gui(make_window, qtbot):
    window = make_window(realtime=False)
    model = window.model
    wait_until(qtbot, lambda: window.emission.text() == "emission off", what="the indicator")
    done = []
    model.submit("switch on behind the GUI's back", lambda: (model.bench.laser.set_emission(True), done.append(1)))
    wait_until(qtbot, lambda: done and "EMISSION ON" in window.emission.text(), what="the indicator to show ON")
    assert "mW" in window.emission.text()
    qtbot.mouseClick(window.laser_off, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: window.emission.text() == "emission off", what="the indicator to show off")
    assert model.bench.world.state.laser_emission is False


def test_emission_on_asks_for_confirmation_first(make_window, qtbot, monkeypatch):
    window = make_window(realtime=False)
    panel = window.panel("laser")
    model = window.model
    answers = [QtWidgets.QMessageBox.StandardButton.No, QtWidgets.QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: (asked.append(a[2]), answers.pop(0))[1])
    window.panels["laser"].raise_()
    wait_until(qtbot, panel.on.isEnabled, what="the emission-on button")
    panel.on.click()
    qtbot.wait(300)
    assert model.bench.world.state.laser_emission is False and "ON" in asked[0]
    panel.on.click()
    wait_until(qtbot, lambda: model.readbacks().laser.emission is True, what="emission on after Yes")
    wait_until(qtbot, lambda: panel.emission.text() == "ON", what="the laser panel readback")


def test_qiup_gui_refuses_a_missing_config_in_one_line(tmp_path, capsys):
    assert main(["gui", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"qiup: error: --config {tmp_path / 'nope.toml'}: file not found"


def test_qiup_gui_opens_the_bench_and_closing_leaves_the_laser_off(tmp_path, qtbot, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")  # display_available() looks at it; Qt itself runs offscreen here
    from app.gui import settings as gui_settings

    monkeypatch.setattr(gui_settings, "default_settings_path", lambda: tmp_path / "gui.json")
    seen = {}

    def close_soon():
        windows = [w for w in QtWidgets.QApplication.topLevelWidgets()
                   if type(w).__name__ == "MainWindow" and w.isVisible()]  # not a closed one of another test
        if not windows or windows[0].model.readbacks().laser is None:
            QtCore.QTimer.singleShot(50, close_soon)
            return
        seen["bench"] = windows[0].model.bench
        seen["title"] = windows[0].windowTitle()
        windows[0].close()

    QtCore.QTimer.singleShot(50, close_soon)
    guard = QtCore.QTimer()  # never hang the suite if the window did not close
    guard.setSingleShot(True)
    guard.timeout.connect(QtWidgets.QApplication.closeAllWindows)
    guard.start(60_000)
    try:
        assert main(["gui", "--config", str(gui_config(tmp_path, realtime=False)), "--out", str(tmp_path / "runs")]) == 0
    finally:
        guard.stop()
    assert "bench.toml" in seen["title"]
    assert all(not dev.connected for dev in seen["bench"].devices().values())
    assert seen["bench"].world.state.laser_emission is False
    assert (tmp_path / "gui.json").exists()
