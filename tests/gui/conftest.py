"""Fixtures for the GUI tests: a small simulated bench (64 x 64 ROI) and a main window on it (offscreen)."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.test_engine_fixtures import small_config  # noqa: E402

REALTIME = {"realtime = false": "realtime = true", "exposure_s = 0.1": "exposure_s = 0.01"}


def gui_config(tmp_path: Path, *, realtime: bool = True) -> Path:
    """64 x 64 pixels; with ``realtime`` frames and the laser ramp take wall-clock time (10 ms frames),
    so a run lasts long enough to pause, press Esc or close the window in the middle of it."""
    return small_config(tmp_path, **(REALTIME if realtime else {}))


def wait_until(qtbot, condition, timeout_s: float = 30.0, what: str | Callable[[], str] = "condition") -> None:
    """Process Qt events until ``condition()``; ``what`` (or its result, made only on a timeout) names it."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what() if callable(what) else what}")
        qtbot.wait(20)


@pytest.fixture
def make_window(qtbot, tmp_path):
    """make_window(config=None, settings_path=None) -> an open MainWindow whose bench is connected."""
    from app.gui.main_window import MainWindow

    windows = []

    def make(config: Path | None = None, settings_path: Path | None = None, realtime: bool = True):
        config = config or gui_config(tmp_path, realtime=realtime)
        window = MainWindow(config, runs_dir=tmp_path / "runs", settings_path=settings_path or tmp_path / "gui.json")
        windows.append(window)
        window.resize(1600, 1000)  # a bench monitor (the offscreen screen is 800 x 800: panels would scroll)
        window.show()
        wait_until(qtbot, lambda: window.model.readbacks().laser is not None and window.model.readbacks().camera
                   is not None, what="the bench to open and the first readbacks")
        wait_until(qtbot, window.sequence.start.isEnabled, what="the Start button")
        return window

    yield make
    for window in windows:
        if not window.model._closed.is_set():
            window.ask_abort_on_close = lambda label: True  # never a modal question in a teardown
            window.close()
            window.model.close()
        window.deleteLater()
    windows.clear()
    delete_now()


@pytest.fixture(autouse=True)
def collect_qt_garbage_between_tests():
    """After every GUI test, on the GUI thread: cycles of Qt wrappers it left (e.g. a removed ROI and its
    handles) are freed here, not by a garbage collection that happens to run during a later paint."""
    yield
    delete_now(passes=1)


def delete_now(passes: int = 3) -> None:
    """Destroy deleted widgets here, on the GUI thread: left to the garbage collector, a cycle of Qt
    wrappers could be collected on whichever thread allocates next (a runner or poller thread)."""
    from PyQt6 import QtCore, QtWidgets

    for _ in range(passes):
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)
        QtWidgets.QApplication.processEvents()
        gc.collect()
