"""A phase-only SLM driven as a secondary monitor: a frameless full-screen Qt window painting 8-bit gray.

The screen is chosen by name or index; the image is painted 1:1 in device pixels (whatever the
screen's device-pixel ratio); phase is wrapped to 2 pi and mapped through a LUT (``slm_lut``).
Qt is imported only inside methods, so importing this module keeps the app headless.

Threading: Qt windows live in the GUI thread. ``show`` called from another thread is posted to the
GUI thread and waited for (with a timeout, so a missing event loop is a DeviceTimeout, not a hang).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from drivers.contracts import SLM, DeviceIdentity
from drivers.errors import DeviceError, DeviceNotConnected, DeviceTimeout
from drivers.slm_lut import linear_lut, load_lut


class ScreenSlm(SLM):
    """An SLM on screen ``screen`` (name like ``"HDMI-1"`` or index into the screen list)."""

    def __init__(
        self,
        *,
        screen: str | int,
        lut_path: str | Path | None = None,
        settle_time_s: float = 0.1,
        paint_timeout_s: float = 2.0,
        dither: str = "bayer4",
        name: str = "slm",
    ):
        super().__init__(name)
        self.dither = self._checked_dither(dither)
        self.screen_selector = screen
        self.lut = load_lut(lut_path) if lut_path else linear_lut()
        self.lut_path = str(lut_path) if lut_path else ""
        self.lut_name = Path(lut_path).name if lut_path else "linear"
        self._settle_time_s = settle_time_s
        self.paint_timeout_s = paint_timeout_s
        self._window: Any = None
        self._bridge: Any = None
        self._shape = (0, 0)
        self._screen_name = ""

    # ------------------------------------------------------------------ life cycle
    @property
    def connected(self) -> bool:
        return self._window is not None

    def _connect_hw(self) -> None:
        from drivers._slm_window import find_screen, make_window

        screen = find_screen(self.screen_selector, device=self.name)
        self._screen_name = screen.name()
        self._window, self._bridge = make_window(screen)
        self._shape = self._window.device_shape()
        self._paint(np.full(self._shape, self.lut[0], np.uint8))  # phase 0 everywhere

    def _close_hw(self) -> None:
        if self._window is not None:
            window, self._window = self._window, None
            try:
                window.close()
                window.deleteLater()
            except RuntimeError:  # the C++ object may already be gone at interpreter exit
                pass
            self._bridge = None

    # ------------------------------------------------------------------ SLM contract
    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def settle_time_s(self) -> float:
        return self._settle_time_s

    def _show_gray_hw(self, gray: np.ndarray) -> None:
        self._paint(gray)

    def current_gray(self) -> np.ndarray:
        """The 8-bit image the window is painting (dithered or not, as shown)."""
        self.require_connected()
        return self._window.gray.copy()

    def _identity_hw(self) -> DeviceIdentity:
        h, w = self._shape
        return DeviceIdentity(vendor="screen", model=f"{self._screen_name} {w}x{h}", serial="", firmware="")

    # ------------------------------------------------------------------ painting
    def _paint(self, gray: np.ndarray) -> None:
        if self._window is None:
            raise DeviceNotConnected("not connected (call connect() first)", device=self.name)
        if self._bridge.in_gui_thread():
            self._window.set_gray(gray)
            self._bridge.flush()
            return
        done = threading.Event()
        self._bridge.request.emit((gray, done))
        if not done.wait(self.paint_timeout_s):
            raise DeviceTimeout(
                f"the SLM window did not repaint within {self.paint_timeout_s:g} s "
                "(is a Qt event loop running in the GUI thread?)",
                device=self.name,
            )
        if self._window.gray.shape != gray.shape:
            raise DeviceError("the SLM window did not take the new image", device=self.name)
