"""The desktop GUI (PyQt6 + pyqtgraph); the only Qt in ``app/``. ``launch`` opens the main window."""

from __future__ import annotations

from pathlib import Path


def launch(config_path: Path | None = None, *, runs_dir: Path = Path("runs"), settings_path: Path | None = None) -> int:
    """Run the GUI until its window closes; returns the exit status (0)."""
    import pyqtgraph as pg
    from PyQt6 import QtWidgets

    from app.gui.main_window import MainWindow
    from app.gui.settings import default_settings_path

    if config_path is None:
        from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG

        config_path = DEFAULT_CONFIG
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["qiup"])
    window = MainWindow(Path(config_path), runs_dir=runs_dir, settings_path=settings_path or default_settings_path())
    window.show()
    previous = _close_on_signals(window)
    try:
        app.exec()
    finally:
        import signal

        for signum, handler in previous.items():  # no handler keeps this window alive after it closed
            signal.signal(signum, handler)
    return 0


def _close_on_signals(window) -> dict:
    """A termination signal closes the window through its normal path (run aborted, laser off, devices
    closed). Python runs signal handlers only when it gets control, so a timer hands it control.
    Returns the handlers it replaced, for ``launch`` to put back."""
    import signal

    from PyQt6 import QtCore

    def handler(signum, _frame):
        QtCore.QTimer.singleShot(0, lambda: window.close_on_signal(signum))

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT):
        previous[signum] = signal.signal(signum, handler)
    wake = QtCore.QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)
    return previous
