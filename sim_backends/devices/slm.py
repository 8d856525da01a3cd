"""Simulated phase-only SLM: the contract turns phase into 8-bit gray levels (one rule for every SLM:
wrap to [0, 2 pi), ``floor(phase * 256 / 2 pi)``, linear LUT); the liquid crystal then delivers phase
``g * phase_at_full_scale_rad / 256`` for gray ``g``: a LUT calibration error when that is not 2 pi. The
world (and hence the pupil of the optics) sees the delivered phase.
"""

from __future__ import annotations

import numpy as np

from drivers.contracts import SLM
from drivers.slm_lut import linear_lut
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
        self.lut = linear_lut(256)
        self.lut_name = "linear"
        self.gray_levels = np.zeros(self._shape, np.uint8)
        world.state.slm_pixel_pitch_um = float(pixel_pitch_um)

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def settle_time_s(self) -> float:
        return self._settle_time_s

    def _show_gray_hw(self, gray: np.ndarray) -> None:
        """The liquid crystal's response to the gray image: what the optics see."""
        self._call("show")
        self.gray_levels = gray
        delivered = (gray * np.float32(self._full_scale_rad / 256)).astype(np.float32)
        with self.world.lock:
            self.world.state.slm_phase_rad = delivered
            self.world.slm_version += 1
