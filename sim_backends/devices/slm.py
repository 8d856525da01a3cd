"""Simulated phase-only SLM: stores the wrapped mask in the world (the optics read it)."""

from __future__ import annotations

import numpy as np

from drivers.interfaces import SLM
from sim_backends.devices.base import SimDeviceMixin

TWO_PI = 2.0 * np.pi


class SimSlm(SimDeviceMixin, SLM):
    model = "simulated 8-bit phase SLM"

    def __init__(self, world, name="slm", *, width=1920, height=1080, settle_time_s=0.0):
        super().__init__(world, name)
        self._shape = (int(height), int(width))
        self._settle_time_s = float(settle_time_s)
        self._mask = np.zeros(self._shape, np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def settle_time_s(self) -> float:
        return self._settle_time_s

    def close(self) -> None:
        self._connected = False

    def show(self, phase_rad: np.ndarray, *, wait: bool = True) -> None:
        self.require_connected()
        self.check_shape(phase_rad)
        levels = np.round(np.mod(phase_rad, TWO_PI) / TWO_PI * 256) % 256  # 8-bit quantisation
        self._mask = (levels * (TWO_PI / 256)).astype(np.float32)
        with self.world.lock:
            self.world.state.slm_phase_rad = self._mask

    def current_phase_rad(self) -> np.ndarray:
        return self._mask.copy()
