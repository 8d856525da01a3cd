"""Screenshot of the GUI during a phase-stepping run on the simulated bench (for the README).

``xvfb-run -s "-screen 0 1600x1000x24" python -m app.gui.screenshot docs/gui.png`` (or with
``QT_QPA_PLATFORM=offscreen``): opens the main window on a 512 x 512 simulated camera in real time,
starts a run, waits until the sample stage has some frames, and saves the window's image.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.gui.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--frames-per-step", type=int, default=32)
    args = parser.parse_args(argv)

    import pyqtgraph as pg
    from PyQt6 import QtWidgets

    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG
    from app.gui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp(prefix="qiup-screenshot-"))
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r"realtime = false", "realtime = true", text)
    text = re.sub(r"exposure_s = 0\.1\b", "exposure_s = 0.02", text)
    (folder / "bench.toml").write_text(text, encoding="utf-8")
    pg.setConfigOptions(imageAxisOrder="row-major")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["qiup"])
    window = MainWindow(folder / "bench.toml", runs_dir=folder / "runs", settings_path=folder / "gui.json")
    window.resize(1600, 1000)
    window.show()

    def pump_until(condition, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    pump_until(window.sequence.start.isEnabled, 60)
    window.sequence.form.editor("frames_per_step").setText(str(args.frames_per_step))
    window.sequence.on_start()
    model = window.model
    pump_until(lambda: (m := model.latest_maps.get()) is not None and m.value.stage == "sample"
               and m.value.frames_per_step >= max(2, args.frames_per_step // 4), 300)
    pump_until(lambda: False, 0.5)  # let every panel repaint
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print(f"screenshot {args.out} ({model.run_status().state}, {model.run_status().frames_done} frames)")
    window.ask_abort_on_close = lambda label: True
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
