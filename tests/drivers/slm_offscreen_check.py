"""Run in a fresh process (Qt's platform is fixed per process): two virtual offscreen screens, the SLM
window on the second; prints JSON with what the screen shows versus the expected gray image."""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

SCREENS = {
    "synchronousWindowSystemEvents": True,
    "windowFrameMargins": False,
    "screens": [
        {"name": "main", "x": 0, "y": 0, "width": 640, "height": 480, "logicalDpi": 96, "logicalBpp": 32},
        {"name": "SLM-1", "x": 640, "y": 0, "width": 320, "height": 200, "logicalDpi": 96, "logicalBpp": 32},
    ],
}


def main(selector: str, lut_path: str | None) -> None:
    config = Path(tempfile.mkdtemp()) / "screens.json"
    config.write_text(json.dumps(SCREENS))
    from PyQt6 import QtGui, QtWidgets

    app = QtWidgets.QApplication(["slm-check", "-platform", f"offscreen:configfile={config}"])
    from drivers.slm_lut import linear_lut, load_lut, phase_to_gray
    from drivers.slm_screen import ScreenSlm

    slm = ScreenSlm(screen=int(selector) if selector.isdigit() else selector, lut_path=lut_path, settle_time_s=0.0)
    slm.connect()
    h, w = slm.shape
    yy, xx = np.mgrid[0:h, 0:w]
    mask = 2 * np.pi * (xx / 37.0 + yy / 53.0) - 3.0  # tilted ramp, crosses many 2 pi wraps, negative too
    slm.show(mask)
    app.processEvents()
    expected = phase_to_gray(mask, load_lut(lut_path) if lut_path else linear_lut(), dither=slm.dither)
    window = slm._window
    grabbed = window.screen().grabWindow(0, window.x(), window.y(), w, h).toImage()
    grabbed = grabbed.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    ptr = grabbed.constBits()
    ptr.setsize(grabbed.sizeInBytes())
    shown = np.frombuffer(ptr, np.uint8).reshape(grabbed.height(), grabbed.bytesPerLine())[:, : grabbed.width()]
    result = {
        "screen": window.screen().name(),
        "window_geometry": [window.geometry().x(), window.geometry().y(), window.width(), window.height()],
        "frameless": bool(window.windowFlags() & window.windowFlags().FramelessWindowHint),
        "slm_shape": [h, w],
        "grabbed_shape": list(shown.shape),
        "mismatched_pixels": int(np.count_nonzero(shown != expected)) if shown.shape == expected.shape else -1,
        "distinct_gray_levels": int(len(np.unique(expected))),
    }
    slm.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
