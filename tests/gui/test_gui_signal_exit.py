"""Every exit path leaves the laser off: SIGTERM to a running `qiup gui` with the laser on closes the
window through its normal path (no dialog), the process ends, and the bench lock is free again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.helpers import ROOT, SIM_CONFIG

CHILD = r"""
import sys
from PyQt6 import QtCore, QtWidgets
import app.gui as gui
from app.gui import main_window

original_show = main_window.MainWindow.show

def show_and_switch_on(self):
    original_show(self)
    def laser_on():
        self.model.bench.laser.set_power_w(0.05)
        self.model.bench.laser.set_emission(True)
        print("laser on", flush=True)
    QtCore.QTimer.singleShot(1500, laser_on)

main_window.MainWindow.show = show_and_switch_on
original_close = main_window.MainWindow.close_on_signal

def close_and_report(self, signum):
    bench = self.model.bench
    original_close(self, signum)
    print(f"closed on signal {signum}; emission {bench.world.state.laser_emission}", flush=True)

main_window.MainWindow.close_on_signal = close_and_report
sys.exit(gui.launch(sys.argv[1], runs_dir=__import__("pathlib").Path(sys.argv[2]), settings_path=__import__("pathlib").Path(sys.argv[3])))
"""


def test_sigterm_closes_the_gui_with_the_laser_off(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QIUP_LOCK_DIR=str(tmp_path / "locks"), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(SIM_CONFIG), str(tmp_path / "runs"),
                             str(tmp_path / "settings.json")], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "laser on" not in line:
            line = proc.stdout.readline()
        assert "laser on" in line, proc.stderr.read() if proc.poll() is not None else "no laser-on line"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"closed on signal {int(signal.SIGTERM)}; emission False" in out
    assert "Traceback" not in err
