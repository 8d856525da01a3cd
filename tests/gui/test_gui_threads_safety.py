"""The GUI thread never calls a device; Esc and closing switch the laser off and end the run aborted;
a corrupt settings file does not block start-up; closing releases every device and window."""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
import traceback

import h5py
import pytest
from PyQt6 import QtCore, QtWidgets

import app.bench_factory as bench_factory
from app.storage import file_status
from tests.gui.conftest import wait_until


class CallRecorder:
    """Wraps every public method of every device of a bench and notes the calling thread."""

    def __init__(self):
        self.calls: list[tuple[str, str, str]] = []  # (device, method, thread name)
        self.main_calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def wrap(self, bench) -> None:
        for role, device in bench.devices().items():
            for name in dir(type(device)):
                if name.startswith("_") or isinstance(getattr(type(device), name, None), property):
                    continue
                method = getattr(device, name)
                if callable(method):
                    setattr(device, name, self._recording(role, name, method))

    def _recording(self, role, name, method):
        def call(*args, **kwargs):
            thread = threading.current_thread()
            with self._lock:
                self.calls.append((role, name, thread.name))
                if thread is threading.main_thread():
                    self.main_calls.append((role, name))
            return method(*args, **kwargs)
        return call


@pytest.fixture
def recorder(monkeypatch):
    rec = CallRecorder()
    real_open = bench_factory.open_bench

    @contextlib.contextmanager
    def recording_open(loaded):
        with real_open(loaded) as bench:
            rec.wrap(bench)
            rec.bench = bench
            yield bench

    monkeypatch.setattr(bench_factory, "open_bench", recording_open)
    return rec


def _start(window, qtbot, frames_per_step="20"):
    window.sequence.sequence.setCurrentText("phase-stepping")
    window.sequence.form.editor("frames_per_step").setText(frames_per_step)
    window.sequence.form.editor("dark_frames").setText("8")
    qtbot.mouseClick(window.sequence.start, QtCore.Qt.MouseButton.LeftButton)
    model = window.model
    wait_until(qtbot, lambda: model.run_status().state == "running" and model.run_status().frames_done > 5,
               what="the run to take frames")


def _command_thread_report(model) -> str:
    """Where the GUI's command thread is and the model's last messages (for a timeout's message)."""
    frames = sys._current_frames()
    stacks = ["".join(traceback.format_stack(frames[t.ident], limit=6)) for t in threading.enumerate()
              if t.name == "qiup-gui-commands" and t.ident in frames]
    texts = [f"{m.level}: {m.text}" for m in model.messages_after(0)][-8:]
    return f"command thread: {stacks or 'not running'}; messages: {texts}"


def _status(path):
    with h5py.File(path, "r") as h5:
        return file_status(h5)


def test_no_device_call_on_the_gui_thread_during_a_run_with_every_panel_open(make_window, qtbot, recorder):
    window = make_window()
    for dock in window.panels.values():
        dock.show()
        assert dock.isVisible()
    window.panels["laser"].raise_()
    _start(window, qtbot, frames_per_step="20")
    # use the panels during the run: a jog (refused, naming the run), a colormap, the ROI, the laser tab
    piezo = window.panel("phase_piezo")
    wait_until(qtbot, piezo.plus.isEnabled, what="the jog button")
    piezo.plus.click()
    window.live.cmap.setCurrentText("viridis")
    window.live.roi.setPos((5, 5))
    wait_until(qtbot, lambda: "refused" in piezo.notice.text(),
               what=lambda: f"the jog refusal; {_command_thread_report(window.model)}")
    assert "phase-stepping" in piezo.notice.text() and str(window.model.run_status().path) in piezo.notice.text()
    wait_until(qtbot, window.sequence.pause.isEnabled, what="the Pause button")
    window.sequence.pause.click()
    wait_until(qtbot, window.sequence.resume.isEnabled, what="the Resume button")
    window.sequence.resume.click()
    wait_until(qtbot, lambda: window.model.run_status().state == "done", timeout_s=180,
               what=f"the run's end ({window.model.run_status()})")
    qtbot.wait(600)  # a few more poller rounds and repaints after the run
    window.close()
    threads = {t for _, _, t in recorder.calls}
    assert recorder.calls and {"qiup-readback-poller", "qiup-gui-commands"} <= threads
    assert any(t.startswith("qiup-runner") for t in threads)
    assert recorder.main_calls == []


def test_esc_during_a_run_switches_emission_off_and_the_run_ends_aborted(make_window, qtbot):
    window = make_window()
    model = window.model
    _start(window, qtbot, frames_per_step="200")
    wait_until(qtbot, lambda: model.readbacks().laser.emission is True, what="emission on (laser readback)")
    wait_until(qtbot, lambda: "EMISSION ON" in window.emission.text(), what="the indicator to show emission")
    pressed = time.monotonic()
    qtbot.keyClick(window.live, QtCore.Qt.Key.Key_Escape)
    wait_until(qtbot, lambda: model.readbacks().laser.emission is False, timeout_s=2.0, what="emission off readback")
    latency_s = time.monotonic() - pressed
    assert model.bench.world.state.laser_emission is False  # the simulated laser itself, not only the display
    wait_until(qtbot, lambda: model.run_status().state == "done", what="the run's end")
    assert model.run_status().result_status == "aborted"
    assert _status(model.run_status().path) == "aborted"
    wait_until(qtbot, lambda: window.emission.text() == "emission off", what="the indicator")
    print(f"Esc -> emission-off readback in {latency_s * 1e3:.0f} ms")


def test_closing_mid_run_asks_then_aborts_leaves_the_laser_off_and_closes_devices(make_window, qtbot, monkeypatch):
    window = make_window()
    model = window.model
    _start(window, qtbot, frames_per_step="200")
    wait_until(qtbot, lambda: model.readbacks().laser.emission is True, what="emission on")
    asked = []

    def answer(answer_value):
        def question(*args, **kwargs):
            asked.append(args[2])
            return answer_value
        return question

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer(QtWidgets.QMessageBox.StandardButton.No))
    window.close()
    assert window.isVisible() and model.run_status().active  # "No": nothing happens
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer(QtWidgets.QMessageBox.StandardButton.Yes))
    window.close()
    assert len(asked) == 2 and "phase-stepping" in asked[0]
    bench = model.bench
    assert not window.isVisible()
    assert bench.world.state.laser_emission is False
    assert model.run_status().result_status == "aborted"
    assert _status(model.run_status().path) == "aborted"
    assert all(not dev.connected for dev in bench.devices().values())
    assert not any(t.is_alive() for t in model._threads)


def test_a_corrupt_settings_file_starts_the_app_with_a_warning(make_window, tmp_path, qtbot):
    settings = tmp_path / "corrupt.json"
    settings.write_bytes(b"\x00\xff{ not json")
    window = make_window(settings_path=settings)
    assert window.model.bench is not None and window.model.open_error is None
    assert "corrupt" in window.settings_warning
    assert "corrupt" in window.statusBar().currentMessage()


def test_layout_and_parameters_persist_across_restarts(make_window, tmp_path, qtbot):
    settings = tmp_path / "persist.json"
    window = make_window(settings_path=settings)
    window.panels["slm"].hide()
    window.sequence.form.editor("frames_per_step").setText("7")
    window.close()
    again = make_window(settings_path=settings)
    assert not again.panels["slm"].isVisible() and again.panels["camera"].isVisible()
    assert again.sequence.form.editor("frames_per_step").text() == "7"


def test_closing_releases_the_bench_and_leaves_no_top_level_widgets(qtbot, tmp_path):
    from app.gui.main_window import MainWindow
    from tests.gui.conftest import gui_config

    app = QtWidgets.QApplication.instance()
    gc.collect()
    before = set(map(id, app.topLevelWidgets()))
    window = MainWindow(gui_config(tmp_path, realtime=False), runs_dir=tmp_path / "runs",
                        settings_path=tmp_path / "gui.json")
    window.show()
    wait_until(qtbot, lambda: window.model.readbacks().camera is not None, what="the bench to open")
    model, bench = window.model, window.model.bench
    window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    window.close()
    assert all(not dev.connected for dev in bench.devices().values())
    assert bench.world.state.laser_emission is False
    assert not any(t.is_alive() for t in model._threads)
    del window
    for _ in range(3):  # deleting widgets posts the deletion of PyQt's slot proxies: several rounds
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)
        app.processEvents()
        gc.collect()
    leaked = [type(w).__name__ for w in app.topLevelWidgets() if id(w) not in before]
    assert leaked == []
