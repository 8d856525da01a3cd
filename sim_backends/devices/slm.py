"""Simulated phase-only SLM: 8-bit gray levels through a LUT, 2 pi wrap, settle time.

show(phase) wraps to [0, 2 pi), maps to gray g = round(256 phase / 2 pi) mod 256 (the driver's linear
LUT) and the liquid crystal then delivers phase g * phase_at_full_scale_rad / 256: a LUT calibration
error when that is not 2 pi. The world (and hence the pupil of the optics) sees the delivered phase.
"""

from __future__ import annotations

import numpy as np

from drivers.interfaces import SLM
from sim_backends.devices.base import SimDeviceMixin

TWO_PI = 2.0 * np.pi


class SimSlm(SimDeviceMixin, SLM):
    model = "simulated 8-bit phase SLM"

    def __init__(self, world, name="slm", *, width=1920, height=1080, settle_time_s=0.0, pixel_pitch_um=8.0,
                 phase_at_full_scale_rad=TWO_PI, faults=None):
        super().__init__(world, name, faults=faults)
        self._shape = (int(height), int(width))
        self._settle_time_s = float(settle_time_s)
        self._full_scale_rad = float(phase_at_full_scale_rad)
        self._mask = np.zeros(self._shape, np.float32)
        self.gray_levels = np.zeros(self._shape, np.uint8)
        world.state.slm_pixel_pitch_um = float(pixel_pitch_um)

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def settle_time_s(self) -> float:
        return self._settle_time_s

    def close(self) -> None:
        self._connected = False

    def show(self, phase_rad: np.ndarray, *, wait: bool = True) -> None:
        self._call("show")
        self.require_connected()
        self.check_shape(phase_rad)
        self.gray_levels = (np.rint(np.mod(phase_rad, TWO_PI) * (256 / TWO_PI)) % 256).astype(np.uint8)
        self._mask = (self.gray_levels * np.float32(TWO_PI / 256)).astype(np.float32)
        delivered = (self.gray_levels * np.float32(self._full_scale_rad / 256)).astype(np.float32)
        with self.world.lock:
            self.world.state.slm_phase_rad = delivered
            self.world.slm_version += 1
        if wait:
            self.world.advance(self._settle_time_s)

    def current_phase_rad(self) -> np.ndarray:
        self._call("current_phase_rad")
        return self._mask.copy()
