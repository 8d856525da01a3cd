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
    map_seqs, core_seqs = set(), set()

    def watch_maps():
        map_seqs.add(window.maps._seq)
        core = model.runner.latest_maps() if model.runner is not None else None
        core_seqs.add(core.seq if core is not None else 0)

    frames0, shown0 = model.run_status().frames_done, window.live.displayed_frames
    load0 = os.getloadavg()[0]
    cpu0 = time.thread_time()  # the GUI thread's CPU time (this thread), not wall time: robust under load
    t0 = time.perf_counter()
    probe.start(int(period_s * 1000))
    loop = QtCore.QEventLoop()
    watch = QtCore.QTimer()
    watch.timeout.connect(watch_maps)
    watch.start(20)
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - t0
    gui_cpu_s = time.thread_time() - cpu0
    probe.stop()
    watch.stop()
    result = {
        "displayed_fps": (window.live.displayed_frames - shown0) / elapsed,
        "camera_fps": (model.run_status().frames_done - frames0) / elapsed,
        "latency_p99_ms": float(np.percentile(lateness, 99) * 1e3) if lateness else float("nan"),
        "latency_max_ms": float(max(lateness) * 1e3) if lateness else float("nan"),
        "map_updates_hz": (len(map_seqs) - 1) / elapsed,
        "core_maps_hz": (len(core_seqs) - 1) / elapsed,
        "gui_cpu_fraction": gui_cpu_s / elapsed,
        "gui_cpu_ms_per_frame": gui_cpu_s * 1e3 / max(1, window.live.displayed_frames - shown0),
        "load_average": (load0 + os.getloadavg()[0]) / 2,
        "cpus": os.cpu_count() or 0,
    }
    window.ask_abort_on_close = lambda label: True
    window.close()
    return result


class _FrameSource:
    """What the live view reads from the model, fed by hand: the display's own cost, without a camera."""

    def __init__(self):
        from app.signals import LatestValue

        self.object_pixel_um = 1.0
        self.latest_frame, self.latest_maps = LatestValue(), LatestValue()

    def readbacks(self):
        from app.gui.readbacks import Readbacks

        return Readbacks()


def live_view_cost_ms(size: int = 1024, frames: int = 60, fps: float = 30.0) -> float:
    """GUI-thread CPU time per displayed frame of the live view alone (refresh + paint, 900 x 900 px widget),
    paced at ``fps``: CPU time, so it does not depend on what else loads the machine."""
    from PyQt6 import QtWidgets

    from app.gui.run_state import FrameSnapshot
    from app.gui.live_view import LiveView

    app = QtWidgets.QApplication.instance()
    source = _FrameSource()
    view = LiveView(source, period_ms=1_000_000)  # refreshed here, not by its timer
    view.resize(900, 900)
    view.show()
    rng = np.random.default_rng(1)
    images = [rng.integers(100, 3000, (size, size)).astype(np.uint16) for _ in range(4)]

    def show(i):
        source.latest_frame.publish(FrameSnapshot(images[i % 4], "sample", i % 4, i))
        view.refresh()
        view.graphics.repaint()
        view.profile.repaint()
        app.processEvents()

    for i in range(10):
        show(i)
    cpu0 = time.thread_time()
    for i in range(frames):
        t = time.perf_counter()
        show(i)
        time.sleep(max(0.0, 1.0 / fps - (time.perf_counter() - t)))
    cost = (time.thread_time() - cpu0) / frames
    view.close()
    view.deleteLater()
    app.processEvents()
    return cost * 1e3


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
    view_ms = live_view_cost_ms(args.size)
    print(f"GUI during a phase-stepping run at {args.size} x {args.size} (simulated camera, offscreen):")
    print(f"  displayed frames     {r['displayed_fps']:6.1f} /s   (target >= 30; the camera delivered "
          f"{r['camera_fps']:.1f} /s)")
    print(f"  event-loop latency   p99 {r['latency_p99_ms']:5.1f} ms, max {r['latency_max_ms']:5.1f} ms "
          f"(targets < 30 ms, < 100 ms)")
    print(f"  map updates          {r['map_updates_hz']:6.1f} /s   (target >= 5; new visibility/phase maps from the "
          f"core {r['core_maps_hz']:.1f} /s)")
    print(f"  GUI thread CPU       {100 * r['gui_cpu_fraction']:5.1f} % of one core, {r['gui_cpu_ms_per_frame']:.1f} ms "
          f"per displayed frame (all panels included)")
    print(f"  live view alone      {view_ms:5.1f} ms GUI-thread CPU per {args.size} x {args.size} frame, paced at 30 fps "
          f"(room for {1e3 / view_ms:.0f} fps on one free core)")
    print(f"  machine load         {r['load_average']:.1f} runnable processes on {r['cpus']} CPUs (1-min load average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
