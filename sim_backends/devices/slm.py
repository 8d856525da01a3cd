"""Simulated phase-only SLM with the imperfections of a real one.

The contract turns phase into gray levels (one rule for every SLM: wrap, ``floor(phase * levels / 2 pi)``,
LUT). The panel then delivers ``fringing(phase_of_gray(gray))``: an S-shaped response reaching 2 pi near
gray 212 (so the default linear LUT is wrong, as on a real panel), smoothed by pixel crosstalk; the liquid
crystal relaxes towards it with its response time, and the panel flickers per exposure. The world's optics
see the crystal's phase averaged over each exposure (sim_backends/slm_physics.py, docs/decisions/0010).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from drivers.contracts import SLM
from drivers.slm_lut import linear_lut
from sim_backends.devices.base import SimDeviceMixin
from sim_backends.slm_physics import LiquidCrystal, SlmResponse, fringing, ideal_lut

SETTLE_RESPONSE_TIMES = 7.0  # default settle time: e^-7 < 1e-3 of a step remains
SETTLED_TOLERANCE_RAD = 0.01  # the readback's `settled`: largest remaining phase error below this


class SimSlm(SimDeviceMixin, SLM):
    model = "simulated phase SLM"

    def __init__(self, world, name="slm", *, width=1920, height=1080, settle_time_s=None, pixel_pitch_um=8.0,
                 bits=8, gray_at_2pi=212.0, s_curve=0.35, crosstalk_sigma_px=0.7, flicker_rad_rms=0.02,
                 response_time_s=0.02, pupil_centre_px=None, pupil_radius_px=None, dither="bayer4", faults=None):
        super().__init__(world, name, faults=faults)
        self.dither = self._checked_dither(dither)
        self._shape = (int(height), int(width))
        self.response = SlmResponse(bits=int(bits), gray_at_2pi=float(gray_at_2pi), s_curve=float(s_curve))
        self.crosstalk_sigma_px = float(crosstalk_sigma_px)
        self.crystal = LiquidCrystal(self._shape, response_time_s)
        self._settle_time_s = (SETTLE_RESPONSE_TIMES * float(response_time_s) if settle_time_s is None
                               else float(settle_time_s))
        self.model = f"simulated {self.response.bits}-bit phase SLM"
        self.lut = (linear_lut(256) if self.response.bits == 8 else np.arange(1024, dtype=np.uint16))
        self.lut_name = "linear"
        self.gray_max = 2 ** self.response.bits - 1
        self.gray_levels = np.zeros(self._shape, np.uint8 if self.response.bits == 8 else np.uint16)
        world.attach_slm(self._shape, pixel_pitch_um, self.crystal, flicker_rad_rms, pupil_centre_px, pupil_radius_px)

    @classmethod
    def from_config(cls, world, section, name: str = "slm") -> SimSlm:
        """Built from a ``SimSlmConfig`` (``[slm] backend = "sim"``)."""
        return cls(world, name, width=section.width, height=section.height, settle_time_s=section.settle_time_s,
                   pixel_pitch_um=section.pixel_pitch_um, bits=section.bits, gray_at_2pi=section.gray_at_2pi,
                   s_curve=section.s_curve, crosstalk_sigma_px=section.crosstalk_sigma_px,
                   flicker_rad_rms=section.flicker_rad_rms, response_time_s=section.response_time_s,
                   pupil_centre_px=section.pupil_centre_px, pupil_radius_px=section.pupil_radius_px,
                   dither=section.dither, faults=section.faults)

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def settle_time_s(self) -> float:
        return self._settle_time_s

    def ideal_lut(self, *, fractional: bool = False) -> np.ndarray:
        """Ground truth for tests: the LUT a perfect calibration of this panel's true response gives
        (``fractional``: unrounded gray levels, float64)."""
        return ideal_lut(self.response, len(self.lut), fractional=fractional)

    def _show_gray_hw(self, gray: np.ndarray) -> None:
        """The panel's response to the gray image; the liquid crystal starts relaxing towards it now."""
        self._call("show")
        self.gray_levels = gray
        delivered = fringing(self.response.phase_of_gray(gray), self.crosstalk_sigma_px)
        with self.world.lock:
            self.crystal.show(delivered, self.world.clock_s)
            self.world.state.slm_phase_rad = delivered  # the target the crystal relaxes to

    def _read_state_hw(self):
        """``settled`` from the crystal itself: the largest remaining phase error below 10 mrad."""
        state = super()._read_state_hw()
        return dataclasses.replace(state, settled=self.crystal.settled(self.world.clock_s, SETTLED_TOLERANCE_RAD))
