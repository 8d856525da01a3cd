"""GUI benchmark: displayed frames per second, event-loop latency and map update rate during a run.

Opens the main window (offscreen works) on the simulated bench with a square camera ROI, starts a
phase-stepping run and measures for ``seconds``: frames the live view painted per second, how late a
5 ms QTimer fires (the event loop's latency: p99 and maximum) and how often the maps panel got new
maps. Also the camera's own frame rate, since the display cannot show more frames than arrive.
``python -m app.gui.benchmark [--size 1024] [--seconds 8]`` (or ``qiup bench gui``).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np


def _config(size: int, folder: Path) -> Path:
    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    x = (2048 - size) // 2
    text = re.sub(r"roi = \{[^}]*\}", f"roi = {{ x = {x}, y = {x}, width = {size}, height = {size} }}", text, count=1)
    path = folder / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(size: int = 1024, seconds: float = 8.0) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PyQt6 import QtCore, QtWidgets

    from app.gui.main_window import MainWindow

    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["qiup-bench-gui"])
    folder = Path(tempfile.mkdtemp(prefix="qiup-bench-gui-"))
    window = MainWindow(_config(size, folder), runs_dir=folder / "runs", settings_path=folder / "gui.json")
    window.resize(1600, 1000)
    window.show()

    def pump_until(condition, timeout_s):
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)

    pump_until(lambda: window.sequence.start.isEnabled(), 60)
    window.sequence.form.editor("frames_per_step").setText("100000")
    window.sequence.form.editor("dark_frames").setText("4")
    window.sequence.form.editor("reference").setChecked(False)
    window.sequence.on_start()
    model = window.model
    pump_until(lambda: model.run_status().stage == "sample" and model.latest_maps.get() is not None, 120)

    lateness: list[float] = []
    period_s = 0.005
    probe = QtCore.QTimer()
    probe.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - period_s))
        last[0] = now

    probe.timeout.connect(tick)
    map_seqs = set()
    frames0, shown0 = model.run_status().frames_done, window.live.displayed_frames
    t0 = time.perf_counter()
    probe.start(int(period_s * 1000))
    loop = QtCore.QEventLoop()
    watch = QtCore.QTimer()
    watch.timeout.connect(lambda: map_seqs.add(window.maps._seq))
    watch.start(20)
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - t0
    probe.stop()
    watch.stop()
    result = {
        "displayed_fps": (window.live.displayed_frames - shown0) / elapsed,
        "camera_fps": (model.run_status().frames_done - frames0) / elapsed,
        "latency_p99_ms": float(np.percentile(lateness, 99) * 1e3) if lateness else float("nan"),
        "latency_max_ms": float(max(lateness) * 1e3) if lateness else float("nan"),
        "map_updates_hz": (len(map_seqs) - 1) / elapsed,
    }
    window.ask_abort_on_close = lambda label: True
    window.close()
    return result


def add_arguments(parser) -> None:
    """The benchmark's options (``qiup bench gui`` adds them to its sub-parser)."""
    parser.add_argument("--size", type=int, default=1024, help="camera ROI side in pixels (default 1024)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time in seconds (default 8)")


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """Entry of ``qiup bench gui`` (parsed arguments) and of ``python -m app.gui.benchmark`` (argv)."""
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(prog="qiup bench gui", description=__doc__.splitlines()[0])
        add_arguments(parser)
        args = parser.parse_args(args)
    r = run(args.size, args.seconds)
    print(f"GUI during a phase-stepping run at {args.size} x {args.size} (simulated camera, offscreen):")
    print(f"  displayed frames     {r['displayed_fps']:6.1f} /s   (target >= 30; the camera delivered "
          f"{r['camera_fps']:.1f} /s)")
    print(f"  event-loop latency   p99 {r['latency_p99_ms']:5.1f} ms, max {r['latency_max_ms']:5.1f} ms "
          f"(targets < 30 ms, < 100 ms)")
    print(f"  map updates          {r['map_updates_hz']:6.1f} /s   (target >= 5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
