"""A phase-only SLM driven as a secondary monitor: a frameless full-screen Qt window painting 8-bit gray.

The screen is chosen by name or index; the image is painted 1:1 in device pixels (whatever the
screen's device-pixel ratio); phase is wrapped to 2 pi and mapped through a LUT (``slm_lut``).
Qt is imported only inside methods, so importing this module keeps the app headless.

Threading: Qt windows live in the GUI thread. ``show`` called from another thread is posted to the
GUI thread and waited for (with a timeout, so a missing event loop is a DeviceTimeout, not a hang).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from drivers.interfaces import SLM, DeviceError, DeviceIdentity, DeviceNotConnected, DeviceTimeout
from drivers.slm_lut import linear_lut, load_lut, phase_to_gray, wrap_phase


class ScreenSlm(SLM):
    """An SLM on screen ``screen`` (name like ``"HDMI-1"`` or index into the screen list)."""

    def __init__(
        self,
        *,
        screen: str | int,
        lut_path: str | Path | None = None,
        settle_time_s: float = 0.1,
        paint_timeout_s: float = 2.0,
        name: str = "slm",
    ):
        self.name = name
        self.screen_selector = screen
        self.lut = load_lut(lut_path) if lut_path else linear_lut()
        self.lut_path = str(lut_path) if lut_path else ""
        self._settle_time_s = settle_time_s
        self.paint_timeout_s = paint_timeout_s
        self._window: Any = None
        self._bridge: Any = None
        self._shape = (0, 0)
        self._screen_name = ""
        self._phase = np.zeros((0, 0))
        self._shown_at_s = 0.0

    # ------------------------------------------------------------------ life cycle
    @property
    def connected(self) -> bool:
        return self._window is not None

    def connect(self) -> None:
        if self.connected:
            return
        from drivers._slm_window import find_screen, make_window

        screen = find_screen(self.screen_selector, device=self.name)
        self._screen_name = screen.name()
        self._window, self._bridge = make_window(screen)
        self._shape = self._window.device_shape()
        self._phase = np.zeros(self._shape)
        self._paint(phase_to_gray(self._phase, self.lut))

    def close(self) -> None:
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

    def show(self, phase_rad: np.ndarray, *, wait: bool = True) -> None:
        self.require_connected()
        self.check_shape(phase_rad)
        gray = phase_to_gray(phase_rad, self.lut)
        self._paint(gray)
        self._phase = wrap_phase(phase_rad)
        self._shown_at_s = time.monotonic()
        if wait:
            time.sleep(self._settle_time_s)

    def current_phase_rad(self) -> np.ndarray:
        self.require_connected()
        return self._phase.copy()

    def current_gray(self) -> np.ndarray:
        """The 8-bit image the window is painting."""
        self.require_connected()
        return self._window.gray.copy()

    def identity(self) -> DeviceIdentity:
        self.require_connected()
        h, w = self._shape
        return DeviceIdentity(vendor="screen", model=f"{self._screen_name} {w}x{h}", serial="", firmware="")

    def status(self) -> dict[str, Any]:
        return {"screen": self._screen_name, "shape": self._shape, "lut": self.lut_path or "linear",
                "settle_time_s": self._settle_time_s}

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
